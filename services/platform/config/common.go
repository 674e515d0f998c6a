package config

import (
	"log/slog"
	"time"
)

// Server is what every gRPC service binary needs.
type Server struct {
	Name            string        // service name in logs, traces and health
	GRPCAddr        string        // listen address, e.g. ":9091"
	ShutdownTimeout time.Duration // GracefulStop budget before a hard Stop
	DrainDelay      time.Duration // NOT_SERVING → wait for endpoints to drain → stop
	LogLevel        slog.Level
	OTLPEndpoint    string // OpenTelemetry collector; empty → tracing off
	MetricsAddr     string // admin listener for GET /metrics (":9464"); empty → not served
}

// LoadServer reads the common server settings. defaultAddr is the port the
// service listens on in the dev stack.
func LoadServer(l *Loader, name, defaultAddr string) Server {
	return Server{
		Name:            name,
		GRPCAddr:        l.String("GRPC_ADDR", defaultAddr),
		ShutdownTimeout: l.Duration("SHUTDOWN_TIMEOUT", 15*time.Second),
		DrainDelay:      l.Duration("DRAIN_DELAY", 0),
		LogLevel:        l.LogLevel("LOG_LEVEL", slog.LevelInfo),
		OTLPEndpoint:    l.String("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
		MetricsAddr:     l.String("METRICS_ADDR", ""),
	}
}

// Postgres is a service's database connection.
type Postgres struct {
	URL            string        // DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test
	Schema         string        // the service's own schema
	MaxConns       int           // pool size (pgxpool's default max(4, NumCPU) is too small)
	MinConns       int           // idle connections kept warm
	AcquireTimeout time.Duration // upper bound on waiting for a connection
}

// DefaultMaxConns is each service's pool size unless DB_MAX_CONNS says
// otherwise. The budget on a default PostgreSQL (max_connections 100, 3
// reserved for superusers): five services × (10 pooled + 1 LISTEN for the
// event relay) + 1 LISTEN for the conversation feed = 56, leaving room for
// a second replica of the busiest service, migrations, psql and the tests'
// own small pools. Raise it only with the server's max_connections.
const DefaultMaxConns = 10

// LoadPostgres reads the database settings for the service owning schema.
func LoadPostgres(l *Loader, schema string) Postgres {
	return Postgres{
		URL:            l.Required("DATABASE_URL"),
		Schema:         schema,
		MaxConns:       l.Int("DB_MAX_CONNS", DefaultMaxConns, 1, 1000),
		MinConns:       l.Int("DB_MIN_CONNS", 2, 0, 1000),
		AcquireTimeout: l.Duration("DB_ACQUIRE_TIMEOUT", 5*time.Second),
	}
}

// Temporal is how a binary reaches the Temporal server.
type Temporal struct {
	HostPort  string // e.g. 127.0.0.1:7233
	Namespace string
	Worker    Worker
}

// Worker sizes a Temporal worker: how many long polls it keeps open per
// kind of task, how many tasks it runs at once, and how many workflows it
// keeps in memory between their tasks (the sticky cache; an evicted one is
// replayed from its history on its next task — cheap for a clock runner,
// whose history is a few events per transition).
type Worker struct {
	WorkflowPollers   int // TEMPORAL_WORKFLOW_POLLERS
	ActivityPollers   int // TEMPORAL_ACTIVITY_POLLERS
	WorkflowTaskSlots int // TEMPORAL_WORKFLOW_TASK_SLOTS: workflow tasks run at once
	ActivitySlots     int // TEMPORAL_ACTIVITY_SLOTS: activities run at once (each holds a DB connection while it writes)
	WorkflowCacheSize int // TEMPORAL_WORKFLOW_CACHE: workflows kept in memory (process-wide)
}

// DefaultWorker is the sizing when nothing is configured, measured by
// make bench-timers (10,000 open records, 2,000 clocks due in a minute):
// the SDK's own defaults (2 pollers, a 10,000-workflow cache) kept every
// record in memory and fell behind a burst of clocks.
var DefaultWorker = Worker{WorkflowPollers: 16, ActivityPollers: 8, WorkflowTaskSlots: 200, ActivitySlots: 100, WorkflowCacheSize: 2000}

// LoadTemporal reads the Temporal settings.
func LoadTemporal(l *Loader) Temporal {
	d := DefaultWorker
	return Temporal{
		HostPort:  l.String("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		Namespace: l.String("TEMPORAL_NAMESPACE", "default"),
		Worker: Worker{
			WorkflowPollers:   l.Int("TEMPORAL_WORKFLOW_POLLERS", d.WorkflowPollers, 2, 256),
			ActivityPollers:   l.Int("TEMPORAL_ACTIVITY_POLLERS", d.ActivityPollers, 1, 256),
			WorkflowTaskSlots: l.Int("TEMPORAL_WORKFLOW_TASK_SLOTS", d.WorkflowTaskSlots, 2, 10_000),
			ActivitySlots:     l.Int("TEMPORAL_ACTIVITY_SLOTS", d.ActivitySlots, 1, 10_000),
			WorkflowCacheSize: l.Int("TEMPORAL_WORKFLOW_CACHE", d.WorkflowCacheSize, 1, 1_000_000),
		},
	}
}

// SLAPolicy chooses the versioned SLA policy new workflows pin.
type SLAPolicy struct {
	Version string // SLA_POLICY_VERSION; "" → the newest embedded version
	Shrink  int    // SLA_POLICY_SHRINK; > 1 divides every duration (demo/test stacks)
}

// LoadSLAPolicy reads the policy choice.
func LoadSLAPolicy(l *Loader) SLAPolicy {
	return SLAPolicy{
		Version: l.String("SLA_POLICY_VERSION", ""),
		Shrink:  l.Int("SLA_POLICY_SHRINK", 1, 1, 10_000_000),
	}
}

// Events is where a service's domain events go (NATS JetStream) and how its
// outbox relay runs.
type Events struct {
	NATSURL         string        // NATS_URL; the dev stack's own server listens on 4223
	Relay           bool          // EVENTS_RELAY: run the outbox relay in this process
	StreamReplicas  int           // EVENTS_STREAM_REPLICAS: 3 on a NATS cluster
	StreamMaxAge    time.Duration // EVENTS_MAX_AGE: how long the stream keeps events
	DuplicateWindow time.Duration // EVENTS_DUPLICATE_WINDOW: server-side de-duplication by event id
	OutboxRetention time.Duration // OUTBOX_RETENTION: published rows kept in the outbox
}

// LoadEvents reads the event settings.
func LoadEvents(l *Loader) Events {
	return Events{
		NATSURL:         l.String("NATS_URL", "nats://127.0.0.1:4223"),
		Relay:           l.Bool("EVENTS_RELAY", true),
		StreamReplicas:  l.Int("EVENTS_STREAM_REPLICAS", 1, 1, 5),
		StreamMaxAge:    l.Duration("EVENTS_MAX_AGE", 30*24*time.Hour),
		DuplicateWindow: l.Duration("EVENTS_DUPLICATE_WINDOW", 20*time.Minute),
		OutboxRetention: l.Duration("OUTBOX_RETENTION", 7*24*time.Hour),
	}
}

// ServiceToken is the key every kefu process signs and verifies callers'
// identities with (identity.SetKeys): SERVICE_TOKEN_KEY, and during a
// rotation SERVICE_TOKEN_KEY_PREVIOUS.
type ServiceToken struct {
	Key, Previous string
}

// LoadServiceToken reads the service token key (required).
func LoadServiceToken(l *Loader) ServiceToken {
	return ServiceToken{Key: l.Required("SERVICE_TOKEN_KEY"), Previous: l.String("SERVICE_TOKEN_KEY_PREVIOUS", "")}
}
