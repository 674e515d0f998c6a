package store

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
)

func tsOf(t *timestamppb.Timestamp) any {
	if t == nil {
		return nil
	}
	return t.AsTime()
}

func tsProto(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t.UTC()) }
