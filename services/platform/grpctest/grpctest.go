// Package grpctest serves a service for a test the way production does —
// panic recovery, identity from metadata, protovalidate, the one error
// mapping, health — on a loopback port, and returns a client connection.
package grpctest

import (
	"io"
	"log/slog"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kefu-suite/kefu/services/platform/grpcserver"
	"github.com/kefu-suite/kefu/services/platform/peer"
	"github.com/kefu-suite/kefu/services/platform/permit"
	"github.com/kefu-suite/kefu/services/platform/validation"
)

// Options for Serve; the zero value validates requests and logs nowhere.
type Options struct {
	NoValidation bool         // serve a stand-in of another service without its rules
	Logger       *slog.Logger // nil → discard
	// AsPeer: the returned connection carries peer.UnaryClientInterceptor, as
	// svcmain's Env.Dial does — for a stand-in of another service that the
	// service under test calls.
	AsPeer bool
	// Permissions: the policy's permission table, enforced as in production
	// (a service's own tests pass it; a stand-in of another service leaves
	// it nil).
	Permissions permit.Table
	// Unary: more interceptors, run last (e.g. requests.UnaryServerInterceptor).
	Unary []grpc.UnaryServerInterceptor
}

// Serve starts the server with what register adds and returns a connection
// to it; both are closed at cleanup.
func Serve(t testing.TB, name string, register func(*grpc.Server), opts ...Options) *grpc.ClientConn {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	var v *validation.Validator
	if !o.NoValidation {
		var err error
		if v, err = validation.New(); err != nil {
			t.Fatal(err)
		}
	}
	srv, _ := grpcserver.New(grpcserver.Options{Name: name, Logger: o.Logger, Validator: v, Permissions: o.Permissions, Unary: o.Unary, Register: register})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	dial := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if o.AsPeer {
		dial = append(dial, grpc.WithChainUnaryInterceptor(peer.UnaryClientInterceptor()))
	}
	conn, err := grpc.NewClient(lis.Addr().String(), dial...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
