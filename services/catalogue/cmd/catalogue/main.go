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
	"time"

	"google.golang.org/grpc"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/catalogue/internal/app"
	"github.com/kefu-suite/kefu/services/catalogue/internal/seed"
	"github.com/kefu-suite/kefu/services/catalogue/internal/store"
	"github.com/kefu-suite/kefu/services/catalogue/migrations"
	"github.com/kefu-suite/kefu/services/platform/config"
	"github.com/kefu-suite/kefu/services/platform/svcmain"
	"github.com/kefu-suite/kefu/workflows/policy"
)

func main() {
	svcmain.Main("catalogue", func(ctx context.Context) error { return run(ctx, os.Args[1:]) })
}

var spec = svcmain.Spec{Name: "catalogue", DefaultAddr: ":9091", Schema: "catalogue", Migrations: migrations.FS}

func run(ctx context.Context, args []string) error {
	l := config.FromOS()
	settings := svcmain.Load(l, spec)
	seedShop := l.String("SEED_SHOP_ID", "shop_demo")
	if err := l.Err(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	// The catalogue runs no clocks; it takes the policy for its permission table.
	pol, err := policy.Select(settings.SLA.Version, settings.SLA.Shrink)
	if err != nil {
		return err
	}
	env, err := svcmain.Start(ctx, spec, settings)
	if err != nil {
		return err
	}
	defer env.Close()
	svc, err := app.New(store.New(env.Pool), env.Log, time.Now)
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
		env.Log.Info("seed imported", slog.String("shop_id", seedShop), slog.Any("counts", n))
		return nil
	default:
		return errors.New("usage: catalogue [seed]")
	}
	return env.Serve(ctx, pol.Permissions, func(s *grpc.Server) { cataloguev1.RegisterCatalogueServiceServer(s, svc) })
}
