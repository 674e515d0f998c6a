package grpcserver_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/grpcserver"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/validation"
)

// probe is a tiny hand-described service whose handler the test controls.
// It takes a shop.common.v1.Address so the real protovalidate rules run.
type probe struct {
	handle func(ctx context.Context, a *commonv1.Address) error
}

func (p *probe) desc() *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: "kefu.test.Probe",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Call",
			Handler: func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
				in := new(commonv1.Address)
				if err := dec(in); err != nil {
					return nil, err
				}
				h := func(ctx context.Context, req any) (any, error) {
					return &emptypb.Empty{}, p.handle(ctx, req.(*commonv1.Address))
				}
				return ic(ctx, in, &grpc.UnaryServerInfo{FullMethod: "/kefu.test.Probe/Call"}, h)
			},
		}},
	}
}

func goodAddress() *commonv1.Address {
	return &commonv1.Address{Province: "浙江省", City: "杭州市", District: "余杭区", Street: "文一西路969号",
		ContactName: "张三", ContactPhone: "13812345678"}
}

func start(t *testing.T, p *probe) (*grpc.ClientConn, context.CancelFunc, <-chan error) {
	t.Helper()
	return startWith(t, p, nil)
}

func startWith(t *testing.T, p *probe, readiness func(context.Context) error) (*grpc.ClientConn, context.CancelFunc, <-chan error) {
	t.Helper()
	v, err := validation.New()
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- grpcserver.Run(ctx, grpcserver.Options{
			Name: "probe", Listener: lis, Validator: v,
			Logger:          slog.New(slog.NewJSONHandler(io.Discard, nil)),
			ShutdownTimeout: 2 * time.Second,
			Register:        func(s *grpc.Server) { s.RegisterService(p.desc(), p) },
			Readiness:       readiness, ReadinessInterval: 50 * time.Millisecond,
		})
	}()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); cancel() })
	return conn, cancel, done
}

func call(ctx context.Context, conn *grpc.ClientConn, a *commonv1.Address) error {
	return conn.Invoke(ctx, "/kefu.test.Probe/Call", a, &emptypb.Empty{})
}

func TestInterceptorChain(t *testing.T) {
	var seen identity.Identity
	p := &probe{}
	conn, _, _ := start(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("identity reaches the handler", func(t *testing.T) {
		p.handle = func(ctx context.Context, _ *commonv1.Address) error {
			seen, _ = identity.From(ctx)
			return nil
		}
		want := identity.Identity{Subject: "b-1", Role: identity.RoleBuyer}
		if err := call(identity.AppendOutgoing(ctx, want), conn, goodAddress()); err != nil {
			t.Fatal(err)
		}
		if seen != want {
			t.Fatalf("handler saw %+v", seen)
		}
	})
	t.Run("malformed identity is unauthenticated", func(t *testing.T) {
		bad := identity.AppendOutgoing(ctx, identity.Identity{Subject: "x", Role: "root"})
		if got := status.Code(call(bad, conn, goodAddress())); got != codes.Unauthenticated {
			t.Fatalf("code %v", got)
		}
	})
	t.Run("an identity nobody vouches for is ignored", func(t *testing.T) {
		p.handle = func(ctx context.Context, _ *commonv1.Address) error {
			if id, ok := identity.From(ctx); ok {
				t.Errorf("a forged identity was believed: %+v", id)
			}
			return nil
		}
		forged := metadata.AppendToOutgoingContext(ctx, identity.MDSubject, "order", identity.MDRole, "service")
		if err := call(forged, conn, goodAddress()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("validation reports field paths and rule ids", func(t *testing.T) {
		p.handle = func(context.Context, *commonv1.Address) error { t.Error("handler must not run"); return nil }
		a := goodAddress()
		a.ContactPhone = "12345"
		a.Province = ""
		st := status.Convert(call(ctx, conn, a))
		if st.Code() != codes.InvalidArgument {
			t.Fatalf("code %v %v", st.Code(), st.Message())
		}
		br := st.Details()[0].(*errdetails.BadRequest)
		fields := map[string]string{}
		for _, v := range br.GetFieldViolations() {
			fields[v.GetField()] = v.GetReason()
		}
		if fields["contact_phone"] != "string.pattern" || fields["province"] != "string.min_len" {
			t.Fatalf("violations %v", fields)
		}
	})
	t.Run("domain errors are mapped", func(t *testing.T) {
		p.handle = func(context.Context, *commonv1.Address) error { return errs.Precondition("order is SHIPPED") }
		st := status.Convert(call(ctx, conn, goodAddress()))
		if st.Code() != codes.FailedPrecondition || st.Message() != "order is SHIPPED" {
			t.Fatalf("%v %q", st.Code(), st.Message())
		}
		p.handle = func(context.Context, *commonv1.Address) error { return errors.New("secret dsn postgres://u:pw@db") }
		st = status.Convert(call(ctx, conn, goodAddress()))
		if st.Code() != codes.Internal || st.Message() != "internal error" {
			t.Fatalf("%v %q", st.Code(), st.Message())
		}
	})
	t.Run("panics become Internal and the server lives on", func(t *testing.T) {
		p.handle = func(context.Context, *commonv1.Address) error { panic("boom") }
		if got := status.Code(call(ctx, conn, goodAddress())); got != codes.Internal {
			t.Fatalf("code %v", got)
		}
		p.handle = func(context.Context, *commonv1.Address) error { return nil }
		if err := call(ctx, conn, goodAddress()); err != nil {
			t.Fatalf("after panic: %v", err)
		}
	})
	t.Run("health and reflection are registered", func(t *testing.T) {
		h := healthpb.NewHealthClient(conn)
		for _, svc := range []string{"", "probe", "kefu.test.Probe"} {
			resp, err := h.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
			if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("health %q: %v %v", svc, resp, err)
			}
		}
	})
}

func TestGracefulStopFinishesInFlightCalls(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	p := &probe{handle: func(context.Context, *commonv1.Address) error {
		close(entered)
		<-release
		return nil
	}}
	conn, stop, done := start(t, p)
	callErr := make(chan error, 1)
	go func() { callErr <- call(context.Background(), conn, goodAddress()) }()
	<-entered
	stop() // SIGTERM equivalent
	time.Sleep(100 * time.Millisecond)
	close(release)
	if err := <-callErr; err != nil {
		t.Fatalf("in-flight call cut off: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server did not stop")
	}
}

// While a dependency is down the server reports NOT_SERVING (readiness) but
// stays alive (liveness), and SERVING again once it is back.
func TestReadinessFollowsDependencies(t *testing.T) {
	var down atomic.Bool
	conn, _, _ := startWith(t, &probe{}, func(context.Context) error {
		if down.Load() {
			return errors.New("postgres: connection refused")
		}
		return nil
	})
	hc := healthpb.NewHealthClient(conn)
	status := func(service string) healthpb.HealthCheckResponse_ServingStatus {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetStatus()
	}
	waitFor := func(service string, want healthpb.HealthCheckResponse_ServingStatus) {
		deadline := time.Now().Add(30 * time.Second)
		for status(service) != want {
			if time.Now().After(deadline) {
				t.Fatalf("%q still %v, want %v", service, status(service), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("", healthpb.HealthCheckResponse_SERVING)
	down.Store(true)
	waitFor("", healthpb.HealthCheckResponse_NOT_SERVING)
	waitFor("probe", healthpb.HealthCheckResponse_NOT_SERVING)
	if got := status(grpcserver.LivenessService); got != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("liveness %v while a dependency is down", got)
	}
	down.Store(false)
	waitFor("", healthpb.HealthCheckResponse_SERVING)
}
