package config_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/platform/config"
)

func TestLoadServerDefaultsAndOverrides(t *testing.T) {
	l := config.FromMap(map[string]string{
		"GRPC_ADDR":        ":7000",
		"SHUTDOWN_TIMEOUT": "3s",
		"LOG_LEVEL":        "debug",
	})
	s := config.LoadServer(l, "order", ":9093")
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	if s.GRPCAddr != ":7000" || s.ShutdownTimeout != 3*time.Second || s.LogLevel != slog.LevelDebug || s.DrainDelay != 0 || s.Name != "order" {
		t.Fatalf("unexpected %+v", s)
	}
}

func TestLoaderReportsEveryProblemAtOnce(t *testing.T) {
	l := config.FromMap(map[string]string{
		"DB_MAX_CONNS":       "many",
		"DB_MIN_CONNS":       "5000",
		"DB_ACQUIRE_TIMEOUT": "soon",
	})
	p := config.LoadPostgres(l, "catalogue")
	err := l.Err()
	if err == nil {
		t.Fatal("expected errors")
	}
	for _, want := range []string{"DATABASE_URL: required", "DB_MAX_CONNS: not an integer", "DB_MIN_CONNS: 5000 is outside", "DB_ACQUIRE_TIMEOUT: not a non-negative duration"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if p.MaxConns != config.DefaultMaxConns || p.Schema != "catalogue" {
		t.Fatalf("defaults not kept on error: %+v", p)
	}
}

func TestBlankValuesCountAsUnset(t *testing.T) {
	l := config.FromMap(map[string]string{"TEMPORAL_ADDRESS": "   ", "X": "on"})
	tc := config.LoadTemporal(l)
	if tc.HostPort != "127.0.0.1:7233" || tc.Namespace != "default" {
		t.Fatalf("got %+v", tc)
	}
	_ = l.Bool("X", false)
	if l.Err() == nil {
		t.Fatal(`"on" must not parse as a bool`)
	}
}

// A worker's sizing comes from its environment, each value bounded; unset
// values are the measured defaults.
func TestWorkerSizing(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want config.Worker
		bad  []string
	}{
		{name: "defaults", env: nil, want: config.DefaultWorker},
		{name: "overrides", env: map[string]string{"TEMPORAL_WORKFLOW_POLLERS": "4", "TEMPORAL_ACTIVITY_POLLERS": "3",
			"TEMPORAL_WORKFLOW_TASK_SLOTS": "50", "TEMPORAL_ACTIVITY_SLOTS": "20", "TEMPORAL_WORKFLOW_CACHE": "500"},
			want: config.Worker{WorkflowPollers: 4, ActivityPollers: 3, WorkflowTaskSlots: 50, ActivitySlots: 20, WorkflowCacheSize: 500}},
		// the SDK alternates a worker's pollers between its sticky and its
		// normal queue: one workflow poller would starve one of them
		{name: "one workflow poller", env: map[string]string{"TEMPORAL_WORKFLOW_POLLERS": "1"}, want: config.DefaultWorker,
			bad: []string{"TEMPORAL_WORKFLOW_POLLERS"}},
		{name: "no cache", env: map[string]string{"TEMPORAL_WORKFLOW_CACHE": "0", "TEMPORAL_ACTIVITY_SLOTS": "x"}, want: config.DefaultWorker,
			bad: []string{"TEMPORAL_WORKFLOW_CACHE", "TEMPORAL_ACTIVITY_SLOTS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := config.FromMap(tc.env)
			got := config.LoadTemporal(l).Worker
			if got != tc.want {
				t.Errorf("worker %+v, want %+v", got, tc.want)
			}
			err := l.Err()
			for _, key := range tc.bad {
				if err == nil || !strings.Contains(err.Error(), key) {
					t.Errorf("error %v does not name %s", err, key)
				}
			}
			if len(tc.bad) == 0 && err != nil {
				t.Errorf("unexpected error %v", err)
			}
		})
	}
}
