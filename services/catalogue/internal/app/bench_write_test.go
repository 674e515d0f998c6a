//go:build kefubench

package app_test

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/catalogue/internal/app"
	"github.com/kefu-suite/kefu/services/catalogue/internal/store"
	"github.com/kefu-suite/kefu/services/catalogue/migrations"
	"github.com/kefu-suite/kefu/services/platform/benchab"
	"github.com/kefu-suite/kefu/services/platform/grpctest"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
	"github.com/kefu-suite/kefu/workflows/policy"
)

// BenchmarkWritePath: a simple write through the whole service — CreateFaq
// over gRPC (validation, identity, permissions, the row and its event in one
// transaction) — against the physical limit of the same database, a
// one-row autocommit INSERT (what pgbench measures), 8 callers each, in
// alternating 3 s slices. Target (issue 18): ≥ 0.4.
func BenchmarkWritePath(b *testing.B) {
	pool := pgtest.Pool(b, "", "catalogue", migrations.FS, 10)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	svc, err := app.New(store.New(pool), log, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	pol, err := policy.Select("", 1)
	if err != nil {
		b.Fatal(err)
	}
	cl := cataloguev1.NewCatalogueServiceClient(grpctest.Serve(b, "catalogue",
		func(s *grpc.Server) { cataloguev1.RegisterCatalogueServiceServer(s, svc) }, grpctest.Options{Permissions: pol.Permissions}))
	ctx := identity.AppendOutgoing(b.Context(), identity.Identity{Subject: "agent_bench", Role: identity.RoleAgent,
		Rank: identity.RankManager, Group: identity.GroupPreSale, ShopID: "shop_bench"})
	baseline := benchab.InsertBaseline(b, pool.Pool)
	createFaq := func(w, i int) error {
		_, err := cl.CreateFaq(ctx, &cataloguev1.CreateFaqRequest{RequestId: fmt.Sprintf("faq-%d-%d-%d", b.N, w, i),
			Faq: &cataloguev1.Faq{Topic: cataloguev1.FaqTopic_FAQ_TOPIC_PRODUCT, Question: fmt.Sprintf("几天发货？(%d/%d)", w, i),
				Answer: "现货商品 48 小时内发货。", Keywords: []string{"发货"}}})
		return err
	}
	// where the difference goes: the same create without gRPC (in-process
	// call of the service), and the database statements alone
	inner := identity.With(b.Context(), identity.Identity{Subject: "agent_bench", Role: identity.RoleAgent,
		Rank: identity.RankManager, Group: identity.GroupPreSale, ShopID: "shop_bench"})
	direct := func(w, i int) error {
		_, err := svc.CreateFaq(inner, &cataloguev1.CreateFaqRequest{RequestId: fmt.Sprintf("faq-direct-%d-%d-%d", b.N, w, i),
			Faq: &cataloguev1.Faq{Topic: cataloguev1.FaqTopic_FAQ_TOPIC_PRODUCT, Question: fmt.Sprintf("几天发货？(%d/%d)", w, i),
				Answer: "现货商品 48 小时内发货。", Keywords: []string{"发货"}}})
		return err
	}
	var r benchab.Rates
	b.ResetTimer()
	for range b.N {
		for range 3 {
			r.Slice(b, 0, 8, 3*time.Second, createFaq)
			r.Slice(b, 1, 8, 3*time.Second, baseline)
			r.Slice(b, 2, 8, 3*time.Second, direct)
		}
	}
	b.StopTimer()
	r.Report(b, 0, 1, "CreateFaq/insert", 0.4)
	b.Logf("CreateFaq without gRPC: %.0f/s (%.2f of the insert)", r.PerSecond(2), r.PerSecond(2)/r.PerSecond(1))
}
