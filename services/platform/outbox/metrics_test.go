package outbox

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/platform/natstest"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
	"github.com/kefu-suite/kefu/services/platform/telemetry"
)

func scrape(t *testing.T) string {
	t.Helper()
	rec := httptest.NewRecorder()
	telemetry.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return string(b)
}

// has reports whether the exposition has a sample of name whose labels
// include every one of labels (`k="v"`) with the value want.
func has(text, name string, want string, labels ...string) bool {
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if ok && strings.HasSuffix(line, " "+want) {
			return true
		}
	}
	return false
}

// The SLA clocks are counted as their events reach the stream: by
// process, clock and shop, the lateness of each firing into the histogram,
// and the commit-to-publish lag of every event.
func TestRelayCountsTheClocksItPublishes(t *testing.T) {
	if _, err := telemetry.SetupMetrics(sdkresource.Default()); err != nil {
		t.Fatal(err)
	}
	pool := pgtest.Pool(t, "", testSchema, noMigrations, 4)
	srv := natstest.Start(t)
	js := connect(t, srv.URL())
	due := time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC)
	ts := timestamppb.New(due)
	ctx := context.Background()
	err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		base := Event{Subject: "cp_1", ShopID: "shop_m", Version: 2}
		evs := []Event{}
		add := func(typ string, p proto.Message) {
			e := base
			e.Type = typ
			e.Payload = p
			evs = append(evs, e)
		}
		add("complaint.clock_armed", &eventsv1.ClockArmed{Clock: "first_response", DueAt: ts, BreachOnExpiry: true})
		add("complaint.clock_armed", &eventsv1.ClockArmed{Clock: "first_response.warn", DueAt: ts})
		add("complaint.clock_warned", &eventsv1.ClockWarned{Clock: "first_response.warn", DueAt: ts, LatenessMs: 40})
		add("complaint.clock_fired", &eventsv1.ClockFired{Clock: "first_response", DueAt: ts, LatenessMs: 1500})
		add("complaint.clock_breached", &eventsv1.ClockBreached{Clock: "first_response", DueAt: ts, LatenessMs: 1500})
		add("case.clock_cancelled", &eventsv1.ClockCancelled{Clock: "seller_response", DueAt: ts})
		return Write(ctx, tx, "complaint", evs...)
	})
	if err != nil {
		t.Fatal(err)
	}
	before := scrape(t)
	r := NewRelay(pool, js, Config{}, quiet())
	drain(t, r, pool)
	after := scrape(t)
	for _, c := range []struct {
		name   string
		labels []string
	}{
		{"kefu_sla_clocks_armed_total", []string{`process="complaint"`, `clock="first_response"`, `shop="shop_m"`}},
		{"kefu_sla_clocks_warned_total", []string{`clock="first_response.warn"`}},
		{"kefu_sla_clocks_fired_total", []string{`clock="first_response"`, `shop="shop_m"`}},
		{"kefu_sla_clocks_breached_total", []string{`clock="first_response"`, `process="complaint"`}},
		{"kefu_sla_clocks_cancelled_total", []string{`process="aftersale"`, `clock="seller_response"`}},
	} {
		if has(before, c.name, "1", c.labels...) || !has(after, c.name, "1", c.labels...) {
			t.Errorf("%s%v not counted once:\n%s", c.name, c.labels, grep(after, "kefu_sla"))
		}
	}
	// 1.5 s late: not within 1 s, within 2 s; the warning 40 ms late.
	if !has(after, "kefu_sla_timer_lateness_seconds_bucket", "0", `clock="first_response"`, `le="1"`) ||
		!has(after, "kefu_sla_timer_lateness_seconds_bucket", "1", `clock="first_response"`, `le="2"`) ||
		!has(after, "kefu_sla_timer_lateness_seconds_bucket", "1", `clock="first_response.warn"`, `le="0.05"`) {
		t.Errorf("lateness histogram:\n%s", grep(after, "kefu_sla_timer_lateness"))
	}
	if !has(after, "kefu_outbox_publish_lag_seconds_count", "6") {
		t.Errorf("publish lag:\n%s", grep(after, "kefu_outbox_publish_lag_seconds_count"))
	}
}

func grep(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
