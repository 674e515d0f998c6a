//go:build kefubench

package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	"github.com/kefu-suite/kefu/services/conversation/internal/app"
	"github.com/kefu-suite/kefu/services/conversation/internal/store"
	"github.com/kefu-suite/kefu/services/conversation/migrations"
	"github.com/kefu-suite/kefu/services/platform/benchab"
	"github.com/kefu-suite/kefu/services/platform/grpctest"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

// BenchmarkWritePath: leaving a 留言 through the whole service —
// LeaveOfflineMessage over gRPC (validation, identity, permissions; the
// message, its event, its feed event and its request id in one transaction)
// — against the physical limit of the same database, a one-row autocommit
// INSERT (what pgbench measures), 8 callers each, in alternating 3 s
// slices. Target (issue 18): ≥ 0.4.
func BenchmarkWritePath(b *testing.B) {
	pool := pgtest.Pool(b, "", "conversation", migrations.FS, 10)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	hub := app.NewHub(pool, log)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { hub.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	select {
	case <-hub.Ready():
	case <-time.After(10 * time.Second):
		b.Fatal("feed listener not ready")
	}
	svc, err := app.New(store.New(pool), hub, nil, app.DefaultPolicy(1), log, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	cl := convv1.NewConversationServiceClient(grpctest.Serve(b, "conversation",
		func(s *grpc.Server) { convv1.RegisterConversationServiceServer(s, svc) }, grpctest.Options{Permissions: permissions(b)}))
	baseline := benchab.InsertBaseline(b, pool.Pool)
	leave := func(w, i int) error {
		who := identity.Identity{Subject: fmt.Sprintf("buyer_w%d", w), Role: identity.RoleBuyer}
		_, err := cl.LeaveOfflineMessage(identity.AppendOutgoing(ctx, who), &convv1.LeaveOfflineMessageRequest{
			RequestId:      fmt.Sprintf("olm-%d-%d-%d", b.N, w, i),
			OfflineMessage: &convv1.OfflineMessage{ShopId: "shop_bench", Text: fmt.Sprintf("羽绒服XL码什么时候补货？(%d)", i)}})
		return err
	}
	var r benchab.Rates
	b.ResetTimer()
	for range b.N {
		for range 3 {
			r.Slice(b, 0, 8, 3*time.Second, leave)
			r.Slice(b, 1, 8, 3*time.Second, baseline)
		}
	}
	b.StopTimer()
	r.Report(b, 0, 1, "LeaveOfflineMessage/insert", 0.4)
}
