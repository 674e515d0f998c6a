module github.com/kefu-suite/kefu/services/complaint

go 1.26.0
