package app

import (
	"encoding/json"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	wf "github.com/kefu-suite/kefu/workflows/aftersale"
)

// workflowView renders the contract case as the workflow's view (the same
// JSON names and enum strings; see workflows/aftersale/model.go).
func workflowView(c *aftersalev1.Case) (wf.Case, error) {
	var v wf.Case
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(c)
	if err != nil {
		return v, err
	}
	err = json.Unmarshal(b, &v)
	return v, err
}

// convert re-reads a contract message as a workflow struct of the same JSON
// shape (addresses, shipments, evidence, inspections); nil stays nil.
func convert[T any](m proto.Message, isNil bool) (*T, error) {
	if isNil {
		return nil, nil
	}
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return nil, err
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		return nil, err
	}
	return out, nil
}
