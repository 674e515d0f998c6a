module github.com/kefu-suite/kefu/gateway

go 1.26.0
