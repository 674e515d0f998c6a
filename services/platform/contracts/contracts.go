// Package contracts lists the public service contracts — the proto file of
// each service's gRPC API — for the checks that walk every RPC (the
// permission table covers every state-changing one, every list a client
// sends is bounded, every service enforces the table).
package contracts

import (
	"google.golang.org/protobuf/reflect/protoreflect"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	calendarv1 "github.com/kefu-suite/kefu/proto/gen/shop/calendar/v1"
	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	complaintv1 "github.com/kefu-suite/kefu/proto/gen/shop/complaint/v1"
	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	insightsv1 "github.com/kefu-suite/kefu/proto/gen/shop/insights/v1"
	logisticsv1 "github.com/kefu-suite/kefu/proto/gen/shop/logistics/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
)

// Services maps each service's name (as its gRPC address is configured:
// CATALOGUE_ADDR …) to its contract.
var Services = map[string]protoreflect.FileDescriptor{
	"aftersale":    aftersalev1.File_shop_aftersale_v1_aftersale_proto,
	"calendar":     calendarv1.File_shop_calendar_v1_calendar_proto,
	"insights":     insightsv1.File_shop_insights_v1_insights_proto,
	"catalogue":    cataloguev1.File_shop_catalogue_v1_catalogue_proto,
	"complaint":    complaintv1.File_shop_complaint_v1_complaint_proto,
	"logistics":    logisticsv1.File_shop_logistics_v1_logistics_proto,
	"conversation": convv1.File_shop_conversation_v1_conversation_proto,
	"order":        orderv1.File_shop_order_v1_order_proto,
}
