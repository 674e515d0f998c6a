// Package svcmain is what every service binary does the same way: read the
// common settings, log as JSON, trace, open its pool on its own schema and
// migrate it, relay its outbox to NATS and consume other services' events
// (Consume), dial the services and Temporal it needs, host its activity
// worker, serve gRPC until SIGTERM, and close everything in reverse order.
// A binary's main keeps only what is its own: extra settings, its use cases,
// its registrations.
package svcmain

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kefu-suite/kefu/services/platform/config"
	"github.com/kefu-suite/kefu/services/platform/grpcserver"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/inbox"
	"github.com/kefu-suite/kefu/services/platform/logging"
	"github.com/kefu-suite/kefu/services/platform/outbox"
	"github.com/kefu-suite/kefu/services/platform/peer"
	"github.com/kefu-suite/kefu/services/platform/permit"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/requests"
	"github.com/kefu-suite/kefu/services/platform/telemetry"
	"github.com/kefu-suite/kefu/services/platform/temporalx"
	"github.com/kefu-suite/kefu/services/platform/validation"
)

// Spec names a service binary.
type Spec struct {
	Name        string // "order": logs, traces, health
	DefaultAddr string // gRPC listen address in the dev stack, ":9093"
	Schema      string // its own Postgres schema
	Migrations  fs.FS  // embedded goose migrations
}

// Settings are the common settings, read with the binary's own from one
// loader so that every bad variable is reported together.
type Settings struct {
	Server   config.Server
	Postgres config.Postgres
	Temporal config.Temporal
	SLA      config.SLAPolicy
	Events   config.Events
	Token    config.ServiceToken
}

// Load reads the common settings into l; the caller reads its own, then
// checks l.Err() once.
func Load(l *config.Loader, spec Spec) Settings {
	return Settings{
		Server:   config.LoadServer(l, spec.Name, spec.DefaultAddr),
		Postgres: config.LoadPostgres(l, spec.Schema),
		Temporal: config.LoadTemporal(l),
		SLA:      config.LoadSLAPolicy(l),
		Events:   config.LoadEvents(l),
		Token:    config.LoadServiceToken(l),
	}
}

// Env is a started service's shared plumbing. Close releases it.
type Env struct {
	Settings Settings
	Log      *slog.Logger
	Pool     *pg.Pool
	closers  []func()

	temporal      client.Client       // set by Temporal: readiness checks it
	workflowQueue string              // set by NeedWorkflowWorker
	js            jetstream.JetStream // the NATS connection of the relay and the consumers, once opened
	pollers       atomic.Int64        // workers polling workflowQueue at the last readiness check
}

// NeedWorkflowWorker makes readiness require a worker polling queue (the
// clock runners' queue): without one no clock of this service fires.
func (e *Env) NeedWorkflowWorker(queue string) {
	e.workflowQueue = queue
	e.pollers.Store(-1)
	if err := e.watchPollers(); err != nil {
		e.Log.Warn("queue poller metric not registered", slog.String("error", err.Error()))
	}
}

// PollerFreshness is how recently a worker must have polled the workflow
// queue for the service to be ready (workers long-poll for about a minute).
const PollerFreshness = 2 * time.Minute

// Ready is the service's readiness: its database answers, Temporal answers
// (if it uses Temporal) and a worker polls its workflow queue (if it needs
// one). While it fails, health is NOT_SERVING: the gateway's /readyz and
// Kubernetes' readiness probe take the service out.
func (e *Env) Ready(ctx context.Context) error {
	if err := e.Pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if e.temporal == nil {
		return nil
	}
	if _, err := e.temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		e.pollers.Store(-1)
		return fmt.Errorf("temporal: %w", err)
	}
	if e.workflowQueue == "" {
		return nil
	}
	resp, err := e.temporal.DescribeTaskQueue(ctx, e.workflowQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		e.pollers.Store(-1) // unknown: no figure rather than a stale one
		return fmt.Errorf("temporal task queue %s: %w", e.workflowQueue, err)
	}
	fresh := 0
	for _, p := range resp.GetPollers() {
		if at := p.GetLastAccessTime(); at != nil && time.Since(at.AsTime()) < PollerFreshness {
			fresh++
		}
	}
	e.pollers.Store(int64(fresh))
	if fresh > 0 {
		return nil
	}
	return fmt.Errorf("no worker polls the workflow queue %s", e.workflowQueue)
}

// watchPollers reports kefu_temporal_queue_pollers{queue}: the workers seen
// polling the workflow queue within PollerFreshness at the last readiness
// check (every few seconds); -1 until the first.
func (e *Env) watchPollers() error {
	m := otel.Meter("github.com/kefu-suite/kefu/services/platform/svcmain")
	g, err := m.Int64ObservableGauge("kefu_temporal_queue_pollers",
		metric.WithDescription("workers seen polling the Temporal task queue in the last 2 minutes"))
	if err != nil {
		return err
	}
	attrs := metric.WithAttributes(attribute.String("queue", e.workflowQueue))
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		if n := e.pollers.Load(); n >= 0 {
			o.ObserveInt64(g, n, attrs)
		}
		return nil
	}, g)
	if err != nil {
		return err
	}
	e.defer_(func() { _ = reg.Unregister() })
	return nil
}

// Start sets up logging, tracing and the migrated pool.
func Start(ctx context.Context, spec Spec, s Settings) (*Env, error) {
	e := &Env{Settings: s, Log: logging.New(os.Stdout, s.Server.LogLevel, s.Server.Name)}
	// Callers' identities are believed only with an assertion made with
	// this key; our own calls to other services carry one.
	if err := identity.SetKeys(s.Token.Key, s.Token.Previous); err != nil {
		return nil, err
	}
	stopTelemetry, err := telemetry.Start(ctx, s.Server.Name, s.Server.OTLPEndpoint, s.Server.MetricsAddr, e.Log)
	if err != nil {
		return nil, err
	}
	e.defer_(stopTelemetry)
	pool, err := pg.Open(ctx, s.Postgres)
	if err != nil {
		e.Close()
		return nil, err
	}
	e.Pool = pool
	e.defer_(pool.Close)
	stopPoolStats, err := pg.Instrument(pool, spec.Schema)
	if err != nil {
		e.Close()
		return nil, err
	}
	e.defer_(stopPoolStats)
	if err := pg.Migrate(ctx, pool, spec.Migrations, e.Log); err != nil {
		e.Close()
		return nil, err
	}
	if s.Events.Relay {
		if err := e.startRelay(ctx); err != nil {
			e.Close()
			return nil, err
		}
	}
	return e, nil
}

// jetStream opens the process's one NATS connection (closed by Close) the
// first time the relay or a consumer needs it. NATS need not be up: the
// connection keeps trying.
func (e *Env) jetStream() (jetstream.JetStream, error) {
	if e.js != nil {
		return e.js, nil
	}
	ev := e.Settings.Events
	nc, err := outbox.Connect(ev.NATSURL, "kefu-"+e.Settings.Server.Name, e.Log)
	if err != nil {
		return nil, fmt.Errorf("nats %s: %w", ev.NATSURL, err)
	}
	e.defer_(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	e.js = js
	return js, nil
}

// background runs fn until Close, which cancels its context and waits.
func (e *Env) background(ctx context.Context, fn func(context.Context)) {
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); fn(bctx) }()
	e.defer_(func() { cancel(); <-done })
}

// startRelay publishes the service's outbox to NATS JetStream in the
// background until Close. NATS need not be up: the connection keeps trying,
// the service serves meanwhile and the outbox waits.
func (e *Env) startRelay(ctx context.Context) error {
	ev := e.Settings.Events
	js, err := e.jetStream()
	if err != nil {
		return err
	}
	relay := outbox.NewRelay(e.Pool, js, outbox.Config{MaxAge: ev.StreamMaxAge,
		Replicas: ev.StreamReplicas, DuplicateWindow: ev.DuplicateWindow, Retention: ev.OutboxRetention}, e.Log)
	e.background(ctx, relay.Run)
	e.Log.Info("outbox relay started", slog.String("nats", ev.NATSURL), slog.String("stream", outbox.StreamName))
	return nil
}

// Consume runs a consumer of other services' events (services/platform/inbox)
// in the background until Close: the durable consumer "<service>-<purpose>"
// of the given event types ("order.payment_reminder_due"), each event
// handled by h in a transaction on the service's pool that also records it
// in the service's inbox table, so it changes things once however often it
// is delivered. Its inbox rows are kept as long as the stream keeps events
// (EVENTS_MAX_AGE). NATS need not be up, nor the stream made yet (the
// first relay to start makes it): the consumer keeps trying.
func (e *Env) Consume(ctx context.Context, purpose string, types []string, h inbox.Handler, tune ...func(*inbox.Config)) error {
	js, err := e.jetStream()
	if err != nil {
		return err
	}
	cfg := inbox.Config{Name: e.Settings.Server.Name + "-" + purpose, Types: types, Retention: e.Settings.Events.StreamMaxAge}
	for _, f := range tune {
		f(&cfg) // e.g. a busy consumer's batch and events per transaction
	}
	c, err := inbox.New(e.Pool, js, cfg, h, e.Log)
	if err != nil {
		return err
	}
	e.background(ctx, c.Run)
	e.Log.Info("event consumer started", slog.String("consumer", e.Settings.Server.Name+"-"+purpose),
		slog.Any("subjects", c.Subjects()))
	return nil
}

// Pending is how many events of the stream the service's consumer for
// purpose has not yet had acknowledged (handled or set aside): its lag.
func (e *Env) Pending(ctx context.Context, purpose string) (int64, error) {
	js, err := e.jetStream()
	if err != nil {
		return 0, err
	}
	c, err := js.Consumer(ctx, outbox.StreamName, e.Settings.Server.Name+"-"+purpose)
	if err != nil {
		return 0, err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, err
	}
	return int64(info.NumPending) + int64(info.NumAckPending), nil
}

func (e *Env) defer_(fn func()) { e.closers = append(e.closers, fn) }

// Close releases everything Start and the helpers opened, newest first.
func (e *Env) Close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
}

// Dial opens a traced gRPC connection to another service (closed by Close).
func (e *Env) Dial(name, addr string) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
		// A peer's status never passes through to our caller (peer.Map).
		grpc.WithChainUnaryInterceptor(peer.UnaryClientInterceptor()),
		// a dead peer noticed in 40 s, within what its server allows
		grpc.WithKeepaliveParams(grpcserver.ClientKeepalive),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`))
	if err != nil {
		return nil, fmt.Errorf("%s client %s: %w", name, addr, err)
	}
	e.defer_(func() { _ = conn.Close() })
	return conn, nil
}

// Temporal dials the Temporal frontend (closed by Close).
func (e *Env) Temporal(ctx context.Context) (client.Client, error) {
	cl, err := temporalx.Dial(ctx, e.Settings.Temporal, e.Log)
	if err != nil {
		return nil, err
	}
	e.defer_(cl.Close)
	e.temporal = cl
	return cl, nil
}

// StartActivities hosts the service's activity worker on queue (stopped by
// Close, before the Temporal client closes).
func (e *Env) StartActivities(cl client.Client, queue string, register func(worker.ActivityRegistry)) error {
	w := worker.New(cl, queue, temporalx.WorkerOptions(e.Settings.Temporal.Worker))
	register(w)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start activity worker on %s: %w", queue, err)
	}
	e.defer_(w.Stop)
	e.Log.Info("activity worker started", slog.String("task_queue", queue))
	return nil
}

// Serve runs the gRPC server (identity, the permission table, validation,
// tracing, error mapping, health) until ctx ends, then drains and stops.
// perms is the policy's permission table; a service never runs without one.
//
// retryable names the service's commands ("<service>.<Rpc>") that a
// request id makes safe to retry (services/platform/requests).
func (e *Env) Serve(ctx context.Context, perms permit.Table, register func(*grpc.Server), retryable ...string) error {
	if register == nil {
		return errors.New("svcmain: nothing to serve")
	}
	if len(perms) == 0 {
		return errors.New("svcmain: no permission table (the policy's permissions section)")
	}
	v, err := validation.New()
	if err != nil {
		return err
	}
	var unary []grpc.UnaryServerInterceptor
	if len(retryable) > 0 { // no look-up on the calls of a service without retryable commands
		unary = append(unary, requests.UnaryServerInterceptor(e.Pool, retryable...))
	}
	s := e.Settings.Server
	return grpcserver.Run(ctx, grpcserver.Options{
		Name: s.Name, Addr: s.GRPCAddr, Logger: e.Log, Validator: v, Permissions: perms, Unary: unary,
		ShutdownTimeout: s.ShutdownTimeout, DrainDelay: s.DrainDelay,
		Register: register, Readiness: e.Ready,
	})
}

// Sweep runs fn every interval in the background (e.g. starting the
// workflow of records whose start failed) until Close, which waits for it to
// finish. fn reports how many records it handled; failures are logged and
// retried at the next tick.
func (e *Env) Sweep(ctx context.Context, interval time.Duration, what string, fn func(context.Context) (int, error)) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if n, err := fn(ctx); err != nil && ctx.Err() == nil {
					e.Log.WarnContext(ctx, "sweep failed", slog.String("sweep", what), slog.String("error", err.Error()))
				} else if n > 0 {
					e.Log.InfoContext(ctx, "swept", slog.String("sweep", what), slog.Int("records", n))
				}
			}
		}
	}()
	e.defer_(func() { cancel(); <-done })
}

// Main is every binary's main (DESIGN convention 1): run gets a context
// that ends on SIGINT or SIGTERM; an error is printed as "name: error" and
// the process exits 1.
func Main(name string, run func(context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}
