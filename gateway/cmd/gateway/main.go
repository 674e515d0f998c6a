// Command gateway serves the REST/JSON API, mapped onto the services' gRPC.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/kefu-suite/kefu/services/platform/svcmain"

	"github.com/kefu-suite/kefu/gateway/internal/gateway"
	"github.com/kefu-suite/kefu/services/platform/config"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/logging"
	"github.com/kefu-suite/kefu/services/platform/telemetry"
)

func main() { svcmain.Main("gateway", run) }

func run(ctx context.Context) error {
	cfg, err := gateway.Load(config.FromOS())
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	// The services believe the identity the gateway verified only with an
	// assertion made with this key.
	if err := identity.SetKeys(cfg.Token.Key, cfg.Token.Previous); err != nil {
		return err
	}
	log := logging.New(os.Stdout, cfg.LogLevel, "gateway")
	stopTelemetry, err := telemetry.Start(ctx, "gateway", cfg.OTLPEndpoint, cfg.MetricsAddr, log)
	if err != nil {
		return err
	}
	defer stopTelemetry()

	gw, err := gateway.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer gw.Close()

	srv := &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           gw,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       cfg.IdleTimeout,
		// No WriteTimeout: the agents' live feed is a long answer; each
		// backend call has its deadline (BACKEND_CALL_TIMEOUT) and a
		// request body its own (BODY_READ_TIMEOUT).
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("gateway listening", slog.String("addr", cfg.HTTPAddr))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
