package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"google.golang.org/protobuf/encoding/protojson"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// Settings reads a shop's after-sale settings; a shop that never saved any
// has empty settings at version 0 (etag "v0").
func (s *Store) Settings(ctx context.Context, shopID string) (*aftersalev1.AfterSaleSettings, error) {
	var version int64
	var doc []byte
	err := s.pool.QueryRow(ctx, `SELECT version, doc FROM shop_settings WHERE shop_id = $1`, shopID).Scan(&version, &doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return &aftersalev1.AfterSaleSettings{ShopId: shopID, Etag: lifecycle.ETag(0)}, nil
	}
	if err != nil {
		return nil, err
	}
	out := &aftersalev1.AfterSaleSettings{}
	if err := docIn.Unmarshal(doc, out); err != nil {
		return nil, fmt.Errorf("shop %s: bad settings document: %w", shopID, err)
	}
	out.ShopId, out.Etag = shopID, lifecycle.ETag(version)
	return out, nil
}

// SettingsChange is one UpdateAfterSaleSettings: the fields named in Paths
// are taken from Settings (a named field left unset is cleared).
type SettingsChange struct {
	Settings        *aftersalev1.AfterSaleSettings
	Paths           []string
	ExpectedVersion *int64 // nil skips the check; 0 = read before the first save
	By              *commonv1.Actor
	At              time.Time
}

// UpdateSettings applies a change under the shop's row lock: a stale
// expected version is ErrConflict; the version rises by one.
func (s *Store) UpdateSettings(ctx context.Context, shopID string, ch SettingsChange) (*aftersalev1.AfterSaleSettings, error) {
	var out *aftersalev1.AfterSaleSettings
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		// A shop's first save inserts its row at version 0; concurrent
		// first saves then queue on the row lock like any other.
		if _, err := tx.Exec(ctx, `INSERT INTO shop_settings (shop_id, version, doc, updated_by, updated_at)
			VALUES ($1, 0, '{}', '', $2) ON CONFLICT (shop_id) DO NOTHING`, shopID, ch.At); err != nil {
			return err
		}
		var version int64
		var doc []byte
		if err := tx.QueryRow(ctx, `SELECT version, doc FROM shop_settings WHERE shop_id = $1 FOR UPDATE`, shopID).
			Scan(&version, &doc); err != nil {
			return err
		}
		if ch.ExpectedVersion != nil && *ch.ExpectedVersion != version {
			return fmt.Errorf("%w: the settings changed since you read them (etag %s, now %s); read them again",
				errs.ErrConflict, lifecycle.ETag(*ch.ExpectedVersion), lifecycle.ETag(version))
		}
		cur := &aftersalev1.AfterSaleSettings{}
		if err := docIn.Unmarshal(doc, cur); err != nil {
			return fmt.Errorf("shop %s: bad settings document: %w", shopID, err)
		}
		for _, p := range ch.Paths {
			switch p {
			case "default_return_address":
				cur.DefaultReturnAddress = nil
				if a := ch.Settings.GetDefaultReturnAddress(); a != nil {
					cur.DefaultReturnAddress = proto.CloneOf(a)
				}
			default:
				return errs.Field("update_mask", "aftersale.settings.update_mask", "%q cannot be changed", p)
			}
		}
		cur.ShopId, cur.Etag = "", ""
		cur.UpdatedAt, cur.UpdatedBy = timestamppb.New(ch.At), ch.By
		b, err := docOut.Marshal(cur)
		if err != nil {
			return err
		}
		version++
		if _, err := tx.Exec(ctx, `UPDATE shop_settings SET version = $2, doc = $3, updated_by = $4, updated_at = $5 WHERE shop_id = $1`,
			shopID, version, b, ch.By.GetSubject(), ch.At); err != nil {
			return err
		}
		cur.ShopId, cur.Etag = shopID, lifecycle.ETag(version)
		out = cur
		return nil
	})
	return out, err
}

var (
	docOut = protojson.MarshalOptions{UseProtoNames: true}
	docIn  = protojson.UnmarshalOptions{DiscardUnknown: true}
)
