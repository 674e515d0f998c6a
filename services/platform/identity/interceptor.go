package identity

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Anonymous calls (no subject) pass through without an identity: each
// service decides per method what an anonymous caller may do (e.g. read
// published products). A malformed identity is refused outright.
func fromIncoming(ctx context.Context) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	id, ok, err := FromMetadata(md)
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, "malformed caller identity: "+err.Error())
	}
	if !ok {
		return ctx, nil
	}
	return With(ctx, id), nil
}

// UnaryServerInterceptor puts the caller's identity into the context.
func UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		ctx, err := fromIncoming(ctx)
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// StreamServerInterceptor puts the caller's identity into the stream's context.
func StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) error {
		ctx, err := fromIncoming(ss.Context())
		if err != nil {
			return err
		}
		return next(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
	}
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }
