// Package grpcserver runs a service's gRPC server the same way everywhere:
// OpenTelemetry stats handler, panic recovery, caller identity, protovalidate,
// one domain-error mapping, health and reflection, and a graceful stop that
// first reports NOT_SERVING so load balancers drain the pod.
package grpcserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/etag"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/permit"
	"github.com/kefu-suite/kefu/services/platform/validation"
)

// Options configure a server.
type Options struct {
	Name      string       // service name, also the health service name
	Addr      string       // listen address; ignored when Listener is set
	Listener  net.Listener // optional pre-opened listener (tests)
	Logger    *slog.Logger // required
	Validator *validation.Validator
	// Permissions, when set, is enforced on every call after the caller's
	// identity is read and before the request is validated (permit).
	Permissions permit.Table
	// Unary are more interceptors, run last (after validation): e.g. the
	// retry-safe commands of services/platform/requests.
	Unary           []grpc.UnaryServerInterceptor
	ShutdownTimeout time.Duration // GracefulStop budget; then Stop
	DrainDelay      time.Duration // time between NOT_SERVING and stopping
	// Register adds the service implementations to the server.
	Register func(*grpc.Server)
	// Ready, when set, is called once the listener is open (tests, dev stack).
	Ready func(addr net.Addr)
	// Readiness, when set, is checked every ReadinessInterval (5 s): while
	// it fails, health reports NOT_SERVING for the server ("") and its
	// services, so the gateway's /readyz and Kubernetes' readiness probe
	// take the pod out; the "liveness" service stays SERVING while the
	// process runs (the liveness probe asks for it).
	Readiness         func(context.Context) error
	ReadinessInterval time.Duration
	// KeepaliveMinTime overrides KeepaliveMinTime (tests).
	KeepaliveMinTime time.Duration
}

// KeepaliveMinTime is how often a client may ping the server, with or
// without a call in flight. grpc-go's own policy (5 min, and no pings at
// all on a connection without calls) answers a client pinging more often
// with GOAWAY ENHANCE_YOUR_CALM "too_many_pings" and drops the
// connection, failing the calls on it with Unavailable ("transport is
// closing" in older clients) — what clients and proxies that keep idle
// connections alive run into (ghz --keepalive, Envoy, grpc-java's
// keepAliveWithoutCalls, ClientKeepalive below). 10 s is the shortest
// interval a grpc-go client can ping at; a client pinging faster than that
// is still cut off.
const KeepaliveMinTime = 10 * time.Second

// ClientKeepalive is how kefu's clients (the gateway, svcmain.Dial) keep
// their connections to the services: a ping after 30 s without traffic,
// idle connections included, and the connection given up 10 s after a
// ping goes unanswered — so a backend pod gone without closing its
// connections (a node lost, a network partition) is noticed within 40 s
// and its calls move to the others, rather than each call waiting out its
// deadline on a dead connection until TCP gives up after many minutes.
// Time is three times KeepaliveMinTime: never a strike at the server.
var ClientKeepalive = keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}

// LivenessService is the health service name that only says the process
// is up.
const LivenessService = "liveness"

// New builds a *grpc.Server with the standard interceptor chain and the
// health service. Interceptor order: recovery (outermost, so nothing
// escapes) → error mapping → identity → permissions → validation → handler.
func New(o Options) (*grpc.Server, *health.Server) {
	unary := []grpc.UnaryServerInterceptor{
		recoveryUnary(o.Logger),
		errorsUnary(o.Logger),
		identity.UnaryServerInterceptor(),
	}
	stream := []grpc.StreamServerInterceptor{
		recoveryStream(o.Logger),
		errorsStream(o.Logger),
		identity.StreamServerInterceptor(),
	}
	if o.Permissions != nil {
		unary = append(unary, o.Permissions.UnaryServerInterceptor())
		stream = append(stream, o.Permissions.StreamServerInterceptor())
	}
	// one etag wherever the client put it (top level or the body's
	// resource), before the rules read the request
	unary = append(unary, etag.UnaryServerInterceptor())
	if o.Validator != nil {
		unary = append(unary, o.Validator.UnaryServerInterceptor())
		stream = append(stream, o.Validator.StreamServerInterceptor())
	}
	unary = append(unary, o.Unary...)
	minPing := o.KeepaliveMinTime
	if minPing <= 0 {
		minPing = KeepaliveMinTime
	}
	srv := grpc.NewServer(
		grpc.StatsHandler(otelgrpc.NewServerHandler()),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: minPing, PermitWithoutStream: true}),
	)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	if o.Register != nil {
		o.Register(srv)
	}
	setAll(srv, hs, o.Name, healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(LivenessService, healthpb.HealthCheckResponse_SERVING)
	return srv, hs
}

// setAll sets the server's and every registered service's health status.
func setAll(srv *grpc.Server, hs *health.Server, name string, st healthpb.HealthCheckResponse_ServingStatus) {
	for svc := range srv.GetServiceInfo() {
		if svc != healthpb.Health_ServiceDesc.ServiceName {
			hs.SetServingStatus(svc, st)
		}
	}
	hs.SetServingStatus(name, st)
	hs.SetServingStatus("", st)
}

// watchReadiness keeps health in step with o.Readiness until ctx ends.
func watchReadiness(ctx context.Context, o Options, srv *grpc.Server, hs *health.Server) {
	every := o.ReadinessInterval
	if every <= 0 {
		every = 5 * time.Second
	}
	ready := true
	for {
		cctx, cancel := context.WithTimeout(ctx, max(every, 2*time.Second))
		err := o.Readiness(cctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		switch {
		case err != nil && ready:
			o.Logger.Warn("not ready: reporting NOT_SERVING", slog.String("reason", err.Error()))
			setAll(srv, hs, o.Name, healthpb.HealthCheckResponse_NOT_SERVING)
			ready = false
		case err == nil && !ready:
			o.Logger.Info("ready again: reporting SERVING")
			setAll(srv, hs, o.Name, healthpb.HealthCheckResponse_SERVING)
			ready = true
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// Run serves until ctx is cancelled, then: health NOT_SERVING, wait
// DrainDelay, GracefulStop bounded by ShutdownTimeout, then a hard Stop.
func Run(ctx context.Context, o Options) error {
	if o.Logger == nil {
		return errors.New("grpcserver: Logger is required")
	}
	lis := o.Listener
	if lis == nil {
		var err error
		if lis, err = net.Listen("tcp", o.Addr); err != nil {
			return fmt.Errorf("listen %s: %w", o.Addr, err)
		}
	}
	srv, hs := New(o)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		if o.Readiness != nil {
			watchReadiness(watchCtx, o, srv, hs)
		}
	}()
	defer func() { stopWatch(); <-watched }()
	o.Logger.Info("grpc server listening", slog.String("addr", lis.Addr().String()))
	if o.Ready != nil {
		o.Ready(lis.Addr())
	}

	select {
	case err := <-served:
		return fmt.Errorf("grpc serve: %w", err)
	case <-ctx.Done():
	}
	o.Logger.Info("shutting down: reporting NOT_SERVING", slog.Duration("drain", o.DrainDelay))
	stopWatch()
	<-watched
	hs.Shutdown()
	if o.DrainDelay > 0 {
		time.Sleep(o.DrainDelay)
	}
	stopped := make(chan struct{})
	go func() { srv.GracefulStop(); close(stopped) }()
	timeout := o.ShutdownTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	select {
	case <-stopped:
	case <-time.After(timeout):
		o.Logger.Warn("graceful stop timed out; closing open calls")
		srv.Stop()
	}
	<-served
	return nil
}

func recovered(log *slog.Logger, method string, p any) error {
	log.Error("panic in handler", slog.String("method", method),
		slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
	return status.Error(codes.Internal, "internal error")
}

func recoveryUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				resp, err = nil, recovered(log, info.FullMethod, p)
			}
		}()
		return next(ctx, req)
	}
}

func recoveryStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = recovered(log, info.FullMethod, p)
			}
		}()
		return next(srv, ss)
	}
}

func errorsUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		resp, err := next(ctx, req)
		if err != nil {
			return nil, errs.ToStatus(ctx, log.With(slog.String("method", info.FullMethod)), err).Err()
		}
		return resp, nil
	}
}

func errorsStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
		if err := next(srv, ss); err != nil {
			return errs.ToStatus(ss.Context(), log.With(slog.String("method", info.FullMethod)), err).Err()
		}
		return nil
	}
}
