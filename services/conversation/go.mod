module github.com/kefu-suite/kefu/services/conversation

go 1.26.0

replace (
	github.com/kefu-suite/kefu/proto/gen => ../../proto/gen
	github.com/kefu-suite/kefu/services/platform => ../platform
	github.com/kefu-suite/kefu/workflows => ../../workflows
)

require github.com/kefu-suite/kefu/services/platform v0.0.0-00010101000000-000000000000

require (
	golang.org/x/sys v0.49.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261026165753-2ffab32bce7e // indirect
	google.golang.org/grpc v1.85.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
