module github.com/kefu-suite/kefu/services/conversation

go 1.26.0
