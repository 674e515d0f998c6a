module github.com/kefu-suite/kefu/workflows

go 1.26.0
