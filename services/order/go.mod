module github.com/kefu-suite/kefu/services/order

go 1.26.0
