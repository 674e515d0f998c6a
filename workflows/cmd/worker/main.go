// Command worker hosts every workflow of the suite on the queues.Workflows
// task queue. Activities are not here: each service hosts the activity worker
// for its own queue, because activities write that service's tables.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/kefu-suite/kefu/services/platform/svcmain"

	"go.temporal.io/sdk/worker"

	"github.com/kefu-suite/kefu/services/platform/config"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
	"github.com/kefu-suite/kefu/services/platform/logging"
	"github.com/kefu-suite/kefu/services/platform/telemetry"
	"github.com/kefu-suite/kefu/services/platform/temporalx"
	"github.com/kefu-suite/kefu/workflows/lifecycle"
	"github.com/kefu-suite/kefu/workflows/queues"
)

// registrations lists every workflow package's Register function.
var registrations = []func(worker.WorkflowRegistry){
	lifecycle.Register,
}

func main() { svcmain.Main("worker", run) }

func run(ctx context.Context) error {
	l := config.FromOS()
	srv := config.LoadServer(l, "worker", "")
	tc := config.LoadTemporal(l)
	if err := l.Err(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log := logging.New(os.Stdout, srv.LogLevel, srv.Name)
	stopTelemetry, err := telemetry.Start(ctx, srv.Name, srv.OTLPEndpoint, srv.MetricsAddr, log)
	if err != nil {
		return err
	}
	defer stopTelemetry()
	if len(registrations) == 0 {
		return errors.New("no workflow package is registered")
	}
	cl, err := temporalx.Dial(ctx, tc, log)
	if err != nil {
		return err
	}
	defer cl.Close()
	// The clock runners upsert their search attributes: the namespace must
	// know them before the first workflow task runs.
	for {
		err := runner.RegisterSearchAttributes(ctx, cl, tc.Namespace)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, errs.ErrUnavailable) {
			return err // registered with another type: nothing a retry changes
		}
		log.Warn("search attributes not registered yet; retrying", "error", err.Error())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
	log.Info("search attributes registered", "namespace", tc.Namespace)
	w := worker.New(cl, queues.Workflows, temporalx.WorkerOptions(tc.Worker))
	for _, register := range registrations {
		register(w)
	}
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	log.Info("worker started", "task_queue", queues.Workflows, "pollers", tc.Worker.WorkflowPollers,
		"task_slots", tc.Worker.WorkflowTaskSlots, "cache", tc.Worker.WorkflowCacheSize)
	<-ctx.Done()
	w.Stop()
	return nil
}
