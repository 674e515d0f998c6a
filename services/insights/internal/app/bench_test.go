//go:build kefubench

package app

// make bench: the projections' throughput and the reports' latency, each
// as a ratio to a plain one-row SELECT on the same database measured in
// the same run (machines here are noisy; absolute times are not figures).
//
//	BenchmarkProjectionThroughput  events/s through the real path (JetStream
//	                               → inbox → projector), and through the
//	                               batched import; target ≥ 2,000 events/s
//	BenchmarkReportLatency         p50/p99 of the month KPI, SLA and causes
//	                               reports of a shop with KEFU_BENCH_EVENTS
//	                               events (default 1,000,000); target p99 < 50 ms
//
// Run alone: go test -tags kefubench -run '^$' -bench . -benchtime 1x ./internal/app/

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	insightsv1 "github.com/kefu-suite/kefu/proto/gen/shop/insights/v1"
	"github.com/kefu-suite/kefu/services/insights/internal/demo"
	"github.com/kefu-suite/kefu/services/insights/internal/grpcapi"
	"github.com/kefu-suite/kefu/services/insights/internal/store"
	"github.com/kefu-suite/kefu/services/insights/migrations"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/inbox"
	"github.com/kefu-suite/kefu/services/platform/natstest"
	"github.com/kefu-suite/kefu/services/platform/outbox"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
)

var benchLast = time.Date(2026, 11, 30, 12, 0, 0, 0, demo.China)

// selectRate is one-row SELECTs per second on pool over d: the baseline.
func selectRate(b *testing.B, pool *pg.Pool, d time.Duration) float64 {
	ctx := context.Background()
	n, start := 0, time.Now()
	for time.Since(start) < d {
		var one int
		if err := pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
			b.Fatal(err)
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds()
}

func BenchmarkProjectionThroughput(b *testing.B) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	events := demo.Busy("shop_bench", benchLast, 8, 4) // ≈ 11,000 events
	srv := natstest.Start(b)
	nc, err := outbox.Connect(srv.URL(), "insights-bench", log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := outbox.EnsureStream(ctx, js, outbox.Config{}); err != nil {
		b.Fatal(err)
	}
	for _, env := range events {
		raw, err := proto.Marshal(env)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: "kefu.shop_bench." + env.GetType(), Data: raw}); err != nil {
			b.Fatal(err)
		}
	}
	// consume projects the whole stream into a fresh schema with a consumer
	// of its own and returns its events/s.
	consume := func(name string, cfg inbox.Config) float64 {
		pool := pgtest.Pool(b, "", "insights", migrations.FS, 3)
		cfg.Name, cfg.Types = name, Types
		p := &Projector{Targets: testTargets, Log: log}
		c, err := inbox.New(pool, js, cfg, p.Handle, log)
		if err != nil {
			b.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		done := make(chan struct{})
		start := time.Now()
		go func() { defer close(done); c.Run(cctx) }()
		defer func() { cancel(); <-done }()
		st := store.New(pool)
		for {
			handled, _, err := st.Progress(ctx)
			if err == nil && handled >= int64(len(events)) {
				return float64(len(events)) / time.Since(start).Seconds()
			}
			if time.Since(start) > 10*time.Minute {
				b.Fatalf("%s handled %d of %d in 10 min", name, handled, len(events))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for i := 0; i < b.N; i++ {
		// Interleaved: the baseline, one event per transaction, the tuned
		// consumer (as cmd/insights runs it), the baseline, the import.
		basePool := pgtest.Pool(b, "", "insights", migrations.FS, 2)
		before := selectRate(b, basePool, 2*time.Second)
		single := consume(fmt.Sprintf("insights-bench-single-%d", i), inbox.Config{BeforeCommit: Counted})
		var tuned inbox.Config
		ConsumerTuning(&tuned)
		consumer := consume(fmt.Sprintf("insights-bench-tuned-%d", i), tuned)
		between := selectRate(b, basePool, 2*time.Second)
		fresh := pgtest.Pool(b, "", "insights", migrations.FS, 3)
		start := time.Now()
		p := &Projector{Targets: testTargets, Log: log}
		if _, _, err := p.Import(ctx, fresh, "insights-projections", events, 500); err != nil {
			b.Fatal(err)
		}
		imported := float64(len(events)) / time.Since(start).Seconds()
		baseline := (before + between) / 2
		b.ReportMetric(consumer, "events/s")
		b.ReportMetric(consumer/baseline, "consumer/select")
		b.ReportMetric(consumer/single, "tuned/single")
		b.ReportMetric(imported/baseline, "import/select")
		fmt.Fprintf(os.Stderr, "projection: %d events; consumer %.0f events/s (target ≥ 2000: %s; one event per transaction %.0f/s, ×%.2f), "+
			"batched import %.0f events/s; one-row SELECT %.0f/s; ratios consumer/select %.3f, import/select %.3f\n",
			len(events), consumer, verdict(consumer >= 2000), single, consumer/single, imported, baseline, consumer/baseline, imported/baseline)
	}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func BenchmarkReportLatency(b *testing.B) {
	want := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("KEFU_BENCH_EVENTS")); err == nil && v > 0 {
		want = v
	}
	// A shop 10× the demo's volume: ≈ 3,500 events a day; the days needed
	// for want events.
	perDay := len(demo.Busy("shop_bench", benchLast, 1, 10))
	days := max(1, want/perDay)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool := pgtest.Pool(b, "", "insights", migrations.FS, 3)
	p := &Projector{Targets: testTargets, Log: log}
	ctx := context.Background()
	total, start := 0, time.Now()
	for chunk := 0; chunk < days; chunk += 30 { // a month at a time (memory)
		n := min(30, days-chunk)
		events := demo.Busy("shop_bench", benchLast.AddDate(0, 0, -chunk), n, 10)
		if _, _, err := p.Import(ctx, pool, "insights-projections", events, 1000); err != nil {
			b.Fatal(err)
		}
		total += len(events)
	}
	fmt.Fprintf(os.Stderr, "report latency: shop_bench holds %d events over %d days (projected in %s)\n",
		total, days, time.Since(start).Round(time.Second))
	if _, err := pool.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}

	srv := grpcapi.New(store.New(pool), testTargets, func(context.Context) (int64, error) { return 0, nil },
		func() time.Time { return benchLast }, log)
	cctx := identity.With(ctx, identity.Identity{Subject: "manager_bench", Role: identity.RoleAgent,
		Rank: identity.RankManager, Group: identity.GroupGeneral, ShopID: "shop_bench"})
	date := benchLast.Format("2006-01-02")
	reports := []struct {
		name string
		call func() error
	}{
		{"month KPI report", func() error {
			_, err := srv.GetKpiReport(cctx, &insightsv1.GetKpiReportRequest{ShopId: "shop_bench", Period: insightsv1.Period_PERIOD_MONTH, Date: date})
			return err
		}},
		{"30-day KPI trend", func() error {
			_, err := srv.GetKpiTrend(cctx, &insightsv1.GetKpiTrendRequest{ShopId: "shop_bench", Date: date, Days: 30})
			return err
		}},
		{"month SLA report", func() error {
			_, err := srv.GetSlaReport(cctx, &insightsv1.GetSlaReportRequest{ShopId: "shop_bench", Period: insightsv1.Period_PERIOD_MONTH, Date: date})
			return err
		}},
		{"month after-sale causes", func() error {
			_, err := srv.GetAfterSaleCauses(cctx, &insightsv1.GetAfterSaleCausesRequest{ShopId: "shop_bench", Period: insightsv1.Period_PERIOD_MONTH, Date: date})
			return err
		}},
		{"one-row SELECT", func() error {
			var one int
			return pool.QueryRow(ctx, `SELECT 1`).Scan(&one)
		}},
	}
	const rounds = 200
	samples := make([][]time.Duration, len(reports))
	for i := 0; i < b.N; i++ {
		for r := 0; r < rounds; r++ { // interleaved: each report, then the baseline, round after round
			for k, rep := range reports {
				t0 := time.Now()
				if err := rep.call(); err != nil {
					b.Fatalf("%s: %v", rep.name, err)
				}
				samples[k] = append(samples[k], time.Since(t0))
			}
		}
	}
	pct := func(d []time.Duration, q float64) time.Duration {
		s := append([]time.Duration(nil), d...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[min(len(s)-1, int(q*float64(len(s))))]
	}
	base99 := pct(samples[len(reports)-1], 0.99)
	for k, rep := range reports[:len(reports)-1] {
		p50, p99 := pct(samples[k], 0.5), pct(samples[k], 0.99)
		fmt.Fprintf(os.Stderr, "  %-24s p50 %6.1f ms  p99 %6.1f ms (target < 50 ms: %s)  p99 / SELECT p99 = %.1f×\n",
			rep.name, ms(p50), ms(p99), verdict(p99 < 50*time.Millisecond), float64(p99)/float64(base99))
		b.ReportMetric(ms(p99), "p99-ms-"+strconv.Itoa(k))
	}
	fmt.Fprintf(os.Stderr, "  %-24s p99 %6.2f ms\n", "one-row SELECT", ms(base99))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
