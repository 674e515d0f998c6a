module github.com/kefu-suite/kefu/services/catalogue

go 1.26.0
