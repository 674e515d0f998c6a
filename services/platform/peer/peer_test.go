package peer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/peer"
)

const method = "/shop.catalogue.v1.CatalogueService/QuoteBasket"

// fakeCatalogue answers every call with the status it is told to.
type fakeCatalogue struct{ st *status.Status }

var desc = grpc.ServiceDesc{
	ServiceName: "shop.catalogue.v1.CatalogueService",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "QuoteBasket",
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			if err := dec(new(emptypb.Empty)); err != nil {
				return nil, err
			}
			if st := srv.(*fakeCatalogue).st; st != nil {
				return nil, st.Err()
			}
			return new(emptypb.Empty), nil
		},
	}},
}

// dial starts an in-process server answering st and a client that carries
// the peer interceptor, as svcmain's Env.Dial does.
func dial(t *testing.T, st *status.Status) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	srv.RegisterService(&desc, &fakeCatalogue{st: st})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient("passthrough:///catalogue",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(peer.UnaryClientInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func call(t *testing.T, st *status.Status) error {
	t.Helper()
	return dial(t, st).Invoke(context.Background(), method, &emptypb.Empty{}, &emptypb.Empty{})
}

func withViolation(c codes.Code, msg, field, reason, desc string) *status.Status {
	st, err := status.New(c, msg).WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
		{Field: field, Reason: reason, Description: desc}}})
	if err != nil {
		panic(err)
	}
	return st
}

// ours is how the order service reads the catalogue's refusal of a quote.
var ours = peer.Mapping{
	What: "the catalogue",
	Field: func(theirs string) string {
		if strings.HasPrefix(theirs, "lines[") {
			return "order." + theirs
		}
		return ""
	},
	Default: "order.lines",
	Rule:    "order.catalogue",
}

func TestMapEveryCode(t *testing.T) {
	cases := []struct {
		name  string
		st    *status.Status
		m     peer.Mapping
		kind  error  // our kind; nil: none of ours (Internal)
		field string // our field, when a field violation
		rule  string
		code  codes.Code // through errs.ToStatus
	}{
		{"invalid with a mapped field",
			withViolation(codes.InvalidArgument, "lines[0].quantity: value must be greater than 0", "lines[0].quantity", "int32.gt", "value must be greater than 0"),
			ours, errs.ErrInvalid, "order.lines[0].quantity", "order.catalogue.int32.gt", codes.InvalidArgument},
		{"invalid with a field we do not have → Default",
			withViolation(codes.InvalidArgument, "priced_at: bad", "priced_at", "catalogue.quote_basket.input", "bad instant"),
			ours, errs.ErrInvalid, "order.lines", "order.catalogue.catalogue.quote_basket.input", codes.InvalidArgument},
		{"invalid without violations → Default",
			status.New(codes.InvalidArgument, "bad basket"),
			ours, errs.ErrInvalid, "order.lines", "order.catalogue", codes.InvalidArgument},
		{"invalid without a Default → plain InvalidArgument",
			status.New(codes.InvalidArgument, "bad basket"),
			peer.Mapping{What: "the catalogue"}, errs.ErrInvalid, "", "", codes.InvalidArgument},
		{"out of range reads as invalid",
			withViolation(codes.OutOfRange, "page", "lines[2].quantity", "range", "too many"),
			ours, errs.ErrInvalid, "order.lines[2].quantity", "order.catalogue.range", codes.InvalidArgument},
		{"not found on our field",
			status.New(codes.NotFound, `product "prd_x": not found`),
			ours, errs.ErrInvalid, "order.lines", "order.catalogue.not_found", codes.InvalidArgument},
		{"not found without a Default",
			status.New(codes.NotFound, `product "prd_x": not found`),
			peer.Mapping{What: "the catalogue"}, errs.ErrNotFound, "", "", codes.NotFound},
		{"failed precondition",
			status.New(codes.FailedPrecondition, "promotion is disabled"),
			ours, errs.ErrFailedPrecondition, "", "", codes.FailedPrecondition},
		{"already exists", status.New(codes.AlreadyExists, "reservation exists"), ours, errs.ErrAlreadyExists, "", "", codes.AlreadyExists},
		{"aborted", status.New(codes.Aborted, "version conflict"), ours, errs.ErrConflict, "", "", codes.Aborted},
		{"unavailable", status.New(codes.Unavailable, "connection refused"), ours, errs.ErrUnavailable, "", "", codes.Unavailable},
		{"deadline exceeded", status.New(codes.DeadlineExceeded, "deadline exceeded"), ours, errs.ErrUnavailable, "", "", codes.Unavailable},
		{"resource exhausted", status.New(codes.ResourceExhausted, "slow down"), ours, errs.ErrUnavailable, "", "", codes.Unavailable},
		{"internal", status.New(codes.Internal, "internal error"), ours, nil, "", "", codes.Internal},
		{"unknown", status.New(codes.Unknown, "panic in QuoteBasket"), ours, nil, "", "", codes.Internal},
		{"permission denied (our bug, not the client's)", status.New(codes.PermissionDenied, "permission denied"), ours, nil, "", "", codes.Internal},
		{"unauthenticated (our bug, not the client's)", status.New(codes.Unauthenticated, "unauthenticated"), ours, nil, "", "", codes.Internal},
	}
	kinds := []error{errs.ErrInvalid, errs.ErrNotFound, errs.ErrAlreadyExists, errs.ErrFailedPrecondition,
		errs.ErrPermissionDenied, errs.ErrUnauthenticated, errs.ErrConflict, errs.ErrUnavailable}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := call(t, c.st)
			pe, ok := peer.As(raw)
			if !ok || pe.Method != method || pe.Code() != c.st.Code() || peer.Code(raw) != c.st.Code() {
				t.Fatalf("the interceptor did not make a peer error: %T %v", raw, raw)
			}
			if _, isStatus := status.FromError(raw); isStatus {
				t.Fatalf("a peer error must not be a gRPC status: %v", raw)
			}
			if !strings.Contains(raw.Error(), "QuoteBasket") {
				t.Fatalf("the peer error names the method for our logs: %v", raw)
			}
			err := peer.Map(fmt.Errorf("quote: %w", raw), c.m)
			if _, ok := peer.As(err); !ok {
				t.Fatalf("the peer's error must stay in the chain for the log: %v", err)
			}
			for _, k := range kinds {
				if errors.Is(err, k) != (k == c.kind) {
					t.Fatalf("errors.Is(%v, %v) = %v, want kind %v", err, k, errors.Is(err, k), c.kind)
				}
			}
			var fe *errs.FieldError
			if errors.As(err, &fe) != (c.field != "") {
				t.Fatalf("field error %v, want field %q", err, c.field)
			}
			if c.field != "" && (fe.Field != c.field || fe.Rule != c.rule || !strings.HasPrefix(fe.Reason, "the catalogue")) {
				t.Fatalf("violation %+v, want %s %s", fe, c.field, c.rule)
			}
			var buf bytes.Buffer
			st := errs.ToStatus(context.Background(), slog.New(slog.NewJSONHandler(&buf, nil)), err)
			if st.Code() != c.code {
				t.Fatalf("through ToStatus: %v %q, want %v", st.Code(), st.Message(), c.code)
			}
			for _, leak := range []string{"rpc error", "QuoteBasket", "shop.catalogue", "CatalogueService", "desc ="} {
				if strings.Contains(st.Message(), leak) {
					t.Fatalf("the client sees %q: %q", leak, st.Message())
				}
				for _, d := range st.Details() {
					if br, ok := d.(*errdetails.BadRequest); ok && strings.Contains(fmt.Sprint(br), leak) {
						t.Fatalf("the client sees %q in %v", leak, br)
					}
				}
			}
			if c.field != "" {
				br, _ := st.Details()[0].(*errdetails.BadRequest)
				if v := br.GetFieldViolations()[0]; v.GetField() != c.field || v.GetReason() != c.rule {
					t.Fatalf("violation on the wire %v, want %s %s", v, c.field, c.rule)
				}
			}
			if c.kind == nil && !strings.Contains(buf.String(), "QuoteBasket") {
				t.Fatalf("an unmapped failure is logged with the peer's method: %s", buf.String())
			}
		})
	}
}

// Unmapped, a peer error still never reaches our client as the peer's
// status: Unavailable when it was down, Internal otherwise.
func TestUnmappedPeerErrorThroughToStatus(t *testing.T) {
	cases := []struct {
		st   *status.Status
		code codes.Code
	}{
		{withViolation(codes.InvalidArgument, "lines[0].quantity: value must be greater than 0", "lines[0].quantity", "int32.gt", "value must be greater than 0"), codes.Internal},
		{status.New(codes.NotFound, "no such product"), codes.Internal},
		{status.New(codes.FailedPrecondition, "disabled"), codes.Internal},
		{status.New(codes.Unavailable, "connection refused"), codes.Unavailable},
		{status.New(codes.DeadlineExceeded, "deadline exceeded"), codes.Unavailable},
	}
	for _, c := range cases {
		t.Run(c.st.Code().String(), func(t *testing.T) {
			err := fmt.Errorf("catalogue QuoteBasket: %w", call(t, c.st))
			st := errs.ToStatus(context.Background(), nil, err)
			if st.Code() != c.code || strings.Contains(st.Message(), "rpc error") || strings.Contains(st.Message(), "QuoteBasket") || len(st.Details()) != 0 {
				t.Fatalf("got %v %q %v, want %v and none of the peer's words", st.Code(), st.Message(), st.Details(), c.code)
			}
		})
	}
}

func TestMapLeavesOtherErrorsAlone(t *testing.T) {
	if err := call(t, nil); err != nil {
		t.Fatalf("a successful call: %v", err)
	}
	if peer.Map(nil, ours) != nil {
		t.Fatal("Map(nil) must be nil")
	}
	plain := errs.Precondition("order is SHIPPED")
	if got := peer.Map(plain, ours); got != plain {
		t.Fatalf("Map changed a non-peer error: %v", got)
	}
	if peer.Code(plain) != codes.OK {
		t.Fatal("Code of a non-peer error is OK")
	}
}
