module github.com/kefu-suite/kefu/services/aftersale

go 1.26.0
