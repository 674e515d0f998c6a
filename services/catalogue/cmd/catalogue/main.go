// Command catalogue serves the CatalogueService over gRPC.
//
//	catalogue        migrate the schema, then serve
//	catalogue seed   migrate, then import the seed products, FAQs and quick
//	                 replies into SEED_SHOP_ID (idempotent) and exit
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/catalogue/internal/app"
	"github.com/kefu-suite/kefu/services/catalogue/internal/seed"
	"github.com/kefu-suite/kefu/services/catalogue/internal/store"
	"github.com/kefu-suite/kefu/services/catalogue/migrations"
	"github.com/kefu-suite/kefu/services/platform/config"
	"github.com/kefu-suite/kefu/services/platform/grpcserver"
	"github.com/kefu-suite/kefu/services/platform/logging"
	"github.com/kefu-suite/kefu/services/platform/pg"
	"github.com/kefu-suite/kefu/services/platform/telemetry"
	"github.com/kefu-suite/kefu/services/platform/validation"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "catalogue:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	l := config.FromOS()
	srv := config.LoadServer(l, "catalogue", ":9091")
	db := config.LoadPostgres(l, "catalogue")
	seedShop := l.String("SEED_SHOP_ID", "shop_demo")
	if err := l.Err(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log := logging.New(os.Stdout, srv.LogLevel, srv.Name)

	_, shutdownTracing, err := telemetry.Setup(ctx, srv.Name, srv.OTLPEndpoint)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = shutdownTracing(sctx)
	}()

	pool, err := pg.Open(ctx, db)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pg.Migrate(ctx, pool, migrations.FS, log); err != nil {
		return err
	}
	svc, err := app.New(store.New(pool), log, time.Now)
	if err != nil {
		return err
	}

	switch {
	case len(args) == 0:
	case args[0] == "seed":
		n, err := seed.Import(ctx, svc, seedShop)
		if err != nil {
			return err
		}
		log.Info("seed imported", slog.String("shop_id", seedShop), slog.Any("counts", n))
		return nil
	default:
		return errors.New("usage: catalogue [seed]")
	}

	v, err := validation.New()
	if err != nil {
		return err
	}
	return grpcserver.Run(ctx, grpcserver.Options{
		Name: srv.Name, Addr: srv.GRPCAddr, Logger: log, Validator: v,
		ShutdownTimeout: srv.ShutdownTimeout, DrainDelay: srv.DrainDelay,
		Register: func(s *grpc.Server) { cataloguev1.RegisterCatalogueServiceServer(s, svc) },
	})
}
