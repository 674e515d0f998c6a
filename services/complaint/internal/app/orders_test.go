package app

import (
	"context"
	"errors"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/peer"
)

// fakeOrders answers GetOrder with err, through the client interceptor
// production installs (svcmain Env.Dial), so the error is a *peer.Error.
type fakeOrders struct {
	orderv1.OrderServiceClient
	err error
}

func (f fakeOrders) GetOrder(ctx context.Context, in *orderv1.GetOrderRequest, _ ...grpc.CallOption) (*orderv1.GetOrderResponse, error) {
	err := peer.UnaryClientInterceptor()(ctx, orderv1.OrderService_GetOrder_FullMethodName, in, nil, nil,
		func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return f.err })
	if err != nil {
		return nil, err
	}
	return &orderv1.GetOrderResponse{Order: &orderv1.Order{OrderId: in.GetOrderId(), ShopId: "shop_a", BuyerId: "buyer_1"}}, nil
}

func badRequest(field string) error {
	st, _ := status.New(codes.InvalidArgument, "order_id: bad").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: "not an order id", Reason: "format"}}})
	return st.Err()
}

// The order service's failures reach our caller in our words: never its
// status text, method name or field paths of its own.
func TestOrderServiceErrorsAreMappedAtTheCall(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		kind  error
		field string
		text  string
	}{
		{"ok", nil, nil, "", ""},
		{"not found", status.Error(codes.NotFound, "order ord_1 not found"), errs.ErrFailedPrecondition, "", "order ord_1 does not exist"},
		{"refused field", badRequest("order_id"), errs.ErrInvalid, "order_id", "not an order id"},
		{"down", status.Error(codes.Unavailable, "connection refused"), errs.ErrUnavailable, "", "did not answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Service{orders: OrderClient(fakeOrders{err: tc.err})}
			err := s.checkOrder(context.Background(), "ord_1", "shop_a", []string{"buyer_1"})
			if tc.kind == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("error %v, want %v with %q", err, tc.kind, tc.text)
			}
			if msg := err.Error(); strings.Contains(msg, "rpc error") || strings.Contains(msg, "GetOrder") {
				t.Fatalf("foreign error text leaks: %q", msg)
			}
			var fe *errs.FieldError
			if tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field) {
				t.Fatalf("field of %v, want %s", err, tc.field)
			}
		})
	}
}
