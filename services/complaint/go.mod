module github.com/kefu-suite/kefu/services/complaint

go 1.26.0

replace (
	github.com/kefu-suite/kefu/proto/gen => ../../proto/gen
	github.com/kefu-suite/kefu/services/platform => ../platform
	github.com/kefu-suite/kefu/workflows => ../../workflows
)
