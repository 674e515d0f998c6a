package app

import (
	"context"
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/grpctest"
)

// refusingOrders answers every RefundOrder with one status, its message in
// the order service's own words.
type refusingOrders struct {
	orderv1.UnimplementedOrderServiceServer
	code codes.Code
}

const theirWords = "lines[0].amount_fen: order-internal check ord.refund.v7 said no"

func (r *refusingOrders) RefundOrder(context.Context, *orderv1.RefundOrderRequest) (*orderv1.RefundOrderResponse, error) {
	return nil, status.Error(r.code, theirWords)
}

// A refund the order service refuses is recorded on the case (refund.last_error
// and the history note, both in every case body) in our words: never the
// order service's text, status code names, method or package names — and
// refused-for-good is told apart from a refusal worth retrying.
func TestRefundFailuresAreRecordedInOurWords(t *testing.T) {
	for _, tc := range []struct {
		code    codes.Code
		forGood bool
	}{
		{codes.InvalidArgument, true},
		{codes.OutOfRange, true},
		{codes.FailedPrecondition, true},
		{codes.NotFound, true},
		{codes.PermissionDenied, true},
		{codes.Unauthenticated, true},
		{codes.AlreadyExists, true},
		{codes.Unavailable, false},
		{codes.DeadlineExceeded, false},
		{codes.Aborted, false},
		{codes.Internal, false},
		{codes.Unknown, false},
	} {
		t.Run(tc.code.String(), func(t *testing.T) {
			srv := &refusingOrders{code: tc.code}
			conn := grpctest.Serve(t, "order", func(s *grpc.Server) { orderv1.RegisterOrderServiceServer(s, srv) },
				grpctest.Options{NoValidation: true, AsPeer: true})
			_, err := GRPCOrders{Client: orderv1.NewOrderServiceClient(conn)}.Refund(context.Background(),
				RefundRequest{OrderID: "ord_1", RequestID: "refund-as_1", CaseID: "as_1", Channel: "REFUND_CHANNEL_BALANCE",
					Lines: []RefundLine{{LineID: "ln_1", AmountFen: 100}}})
			if err == nil {
				t.Fatal("want a failure")
			}
			if got := errors.Is(err, ErrRefundRejected); got != tc.forGood {
				t.Fatalf("refused for good = %v, want %v (%v)", got, tc.forGood, err)
			}
			msg := refundMessage(err)
			for _, leak := range []string{"rpc error", "OrderService", "RefundOrder", "shop.order", "peer ", "ord.refund.v7",
				"lines[0]", tc.code.String(), "desc ="} {
				if strings.Contains(msg, leak) {
					t.Fatalf("recorded message %q carries %q", msg, leak)
				}
			}
			if !strings.Contains(msg, "order service") {
				t.Fatalf("recorded message %q does not say who failed", msg)
			}
			// The log keeps the order service's own answer.
			if tc.forGood && !strings.Contains(logDetail(err), "ord.refund.v7") {
				t.Fatalf("log detail %q lost the cause", logDetail(err))
			}
		})
	}
}

// The case's own ledger refusing the amount is ours, not the order
// service's, and is refused for good.
func TestLedgerShortfallIsOurRefusal(t *testing.T) {
	err := &RefundRefusal{Msg: "the case holds less than 100 fen on its lines", Cause: errors.New("ledger shortfall")}
	if !errors.Is(err, ErrRefundRejected) || strings.Contains(refundMessage(err), "order service") {
		t.Fatalf("%v / %q", err, refundMessage(err))
	}
}
