package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

func promotionDoc(p *cataloguev1.Promotion) ([]byte, error) {
	d := proto.Clone(p).(*cataloguev1.Promotion)
	d.PromotionId, d.ShopId, d.Etag, d.Status, d.CreatedAt, d.UpdatedAt = "", "", "", 0, nil, nil
	return docJSON.Marshal(d)
}

func endsAt(p *cataloguev1.Promotion) *time.Time {
	if p.GetEndsAt() == nil {
		return nil
	}
	t := p.GetEndsAt().AsTime()
	return &t
}

// InsertPromotion stores a promotion, idempotent on (shop, request id).
func (s *Store) InsertPromotion(ctx context.Context, p *cataloguev1.Promotion, requestID string, now time.Time) (*cataloguev1.Promotion, error) {
	doc, err := promotionDoc(p)
	if err != nil {
		return nil, err
	}
	var inserted bool
	err = s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			INSERT INTO promotions (promotion_id, shop_id, kind, enabled, starts_at, ends_at, doc, request_id, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,NULLIF($8,''),$9,$9) ON CONFLICT (shop_id, request_id) DO NOTHING`,
			p.GetPromotionId(), p.GetShopId(), int16(p.GetKind()), p.GetEnabled(), p.GetStartsAt().AsTime(), endsAt(p), doc, requestID, now)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		inserted = true
		stored, _, err := scanPromotion(tx.QueryRow(ctx, `SELECT `+promotionColumns+` FROM promotions WHERE promotion_id=$1`,
			p.GetPromotionId()), now)
		if err != nil {
			return err
		}
		return event(ctx, tx, "promotion.created", p.GetPromotionId(), p.GetShopId(), 1, now, &eventsv1.PromotionChanged{Promotion: stored})
	})
	if err != nil {
		return nil, err
	}
	id := p.GetPromotionId()
	if !inserted {
		if err := s.pool.QueryRow(ctx, `SELECT promotion_id FROM promotions WHERE shop_id=$1 AND request_id=$2`, p.GetShopId(), requestID).Scan(&id); err != nil {
			return nil, err
		}
	}
	return s.GetPromotion(ctx, id, now)
}

const promotionColumns = `promotion_id, shop_id, enabled, starts_at, ends_at, doc, version, created_at, updated_at`

func scanPromotion(r rowScanner, now time.Time) (*cataloguev1.Promotion, int64, error) {
	var (
		p                        cataloguev1.Promotion
		id, shop                 string
		enabled                  bool
		starts, created, updated time.Time
		ends                     *time.Time
		doc                      []byte
		version                  int64
	)
	if err := r.Scan(&id, &shop, &enabled, &starts, &ends, &doc, &version, &created, &updated); err != nil {
		return nil, 0, err
	}
	if err := protojson.Unmarshal(doc, &p); err != nil {
		return nil, 0, fmt.Errorf("promotion %s: stored document unreadable: %w", id, err)
	}
	p.PromotionId, p.ShopId, p.Etag = id, shop, lifecycle.ETag(version)
	p.CreatedAt, p.UpdatedAt = timestamppb.New(created), timestamppb.New(updated)
	p.Status = PromotionStatus(enabled, starts, ends, now)
	return &p, version, nil
}

// PromotionStatus: disabled, scheduled (before start), active, or ended
// (at or after ends_at: the window is [starts_at, ends_at)).
func PromotionStatus(enabled bool, starts time.Time, ends *time.Time, now time.Time) cataloguev1.PromotionStatus {
	switch {
	case !enabled:
		return cataloguev1.PromotionStatus_PROMOTION_STATUS_DISABLED
	case now.Before(starts):
		return cataloguev1.PromotionStatus_PROMOTION_STATUS_SCHEDULED
	case ends != nil && !now.Before(*ends):
		return cataloguev1.PromotionStatus_PROMOTION_STATUS_ENDED
	}
	return cataloguev1.PromotionStatus_PROMOTION_STATUS_ACTIVE
}

// GetPromotion reads one promotion.
func (s *Store) GetPromotion(ctx context.Context, id string, now time.Time) (*cataloguev1.Promotion, error) {
	p, _, err := scanPromotion(s.pool.QueryRow(ctx, `SELECT `+promotionColumns+` FROM promotions WHERE promotion_id=$1`, id), now)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.NotFound("promotion", id)
	}
	return p, err
}

// UpdatePromotion is read-modify-write under a row lock with a version bump.
func (s *Store) UpdatePromotion(ctx context.Context, id string, now time.Time, fn func(p *cataloguev1.Promotion, version int64) error) (*cataloguev1.Promotion, error) {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		p, version, err := scanPromotion(tx.QueryRow(ctx, `SELECT `+promotionColumns+` FROM promotions WHERE promotion_id=$1 FOR UPDATE`, id), now)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound("promotion", id)
		}
		if err != nil {
			return err
		}
		if err := fn(p, version); err != nil {
			return err
		}
		doc, err := promotionDoc(p)
		if err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `UPDATE promotions SET kind=$2, enabled=$3, starts_at=$4, ends_at=$5, doc=$6, version=version+1, updated_at=$7
			WHERE promotion_id=$1`, id, int16(p.GetKind()), p.GetEnabled(), p.GetStartsAt().AsTime(), endsAt(p), doc, now); err != nil {
			return err
		}
		p.Etag = lifecycle.ETag(version + 1)
		return event(ctx, tx, "promotion.updated", id, p.GetShopId(), version+1, now, &eventsv1.PromotionChanged{Promotion: p})
	})
	if err != nil {
		return nil, err
	}
	return s.GetPromotion(ctx, id, now)
}

// DeletePromotion removes a promotion (etag-checked when given).
func (s *Store) DeletePromotion(ctx context.Context, id, etag string) error {
	return s.deleteVersioned(ctx, "promotion", "promotions", "promotion_id", id, etag)
}

// PromotionQuery filters promotions of one shop.
type PromotionQuery struct {
	ShopID      string
	Kind        int16
	Status      cataloguev1.PromotionStatus
	EnabledOnly bool
	// ProductID with its category: promotions whose scope covers it.
	ProductID, Category string
	After               *Cursor
	Limit               int
}

// ListPromotions pages promotions by start time, then id: in the order of
// the index promotions_shop_window; the cursor's key is the start in
// microseconds since the epoch (exact in a float8).
func (s *Store) ListPromotions(ctx context.Context, q PromotionQuery, now time.Time) ([]*cataloguev1.Promotion, *Cursor, error) {
	key := `(extract(epoch FROM starts_at) * 1000000)::float8`
	where := []string{"shop_id = @shop"}
	args := pgx.NamedArgs{"shop": q.ShopID, "now": now, "limit": q.Limit + 1}
	if q.Kind != 0 {
		where = append(where, "kind = @kind")
		args["kind"] = q.Kind
	}
	if q.EnabledOnly {
		where = append(where, "enabled")
	}
	switch q.Status {
	case cataloguev1.PromotionStatus_PROMOTION_STATUS_DISABLED:
		where = append(where, "NOT enabled")
	case cataloguev1.PromotionStatus_PROMOTION_STATUS_SCHEDULED:
		where = append(where, "enabled AND @now < starts_at")
	case cataloguev1.PromotionStatus_PROMOTION_STATUS_ACTIVE:
		where = append(where, "enabled AND starts_at <= @now AND (ends_at IS NULL OR @now < ends_at)")
	case cataloguev1.PromotionStatus_PROMOTION_STATUS_ENDED:
		where = append(where, "enabled AND ends_at IS NOT NULL AND ends_at <= @now")
	}
	if q.ProductID != "" {
		where = append(where, `(coalesce((doc->'scope'->>'all_products')::boolean, false)
			OR coalesce(doc->'scope'->'product_ids', '[]') ? @product
			OR coalesce(doc->'scope'->'categories', '[]') ? @category
			OR coalesce(doc->'time_limited_offer'->'prices', '[]') @> jsonb_build_array(jsonb_build_object('product_id', @product::text)))`)
		args["product"], args["category"] = q.ProductID, q.Category
	}
	if q.After != nil {
		where = append(where, "(starts_at, promotion_id) > (@after_at, @after_id)")
		// (a forged key stays within the years a timestamptz holds)
		us := int64(math.Max(math.Min(q.After.Key, 1<<53), -(1 << 53)))
		args["after_at"], args["after_id"] = time.UnixMicro(us), q.After.ID
	}
	rows, err := s.pool.Query(ctx, `SELECT `+promotionColumns+`, `+key+` FROM promotions WHERE `+strings.Join(where, " AND ")+
		` ORDER BY starts_at, promotion_id LIMIT @limit`, args)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var (
		out  []*cataloguev1.Promotion
		keys []float64
	)
	for rows.Next() {
		var k float64
		p, _, err := scanPromotion(scanWithKey{rows, &k}, now)
		if err != nil {
			return nil, nil, err
		}
		out, keys = append(out, p), append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	var next *Cursor
	if len(out) > q.Limit {
		out = out[:q.Limit]
		next = &Cursor{Key: keys[q.Limit-1], ID: out[q.Limit-1].GetPromotionId()}
	}
	return out, next, nil
}

// PricingPromotions returns the shop's enabled promotions that have not
// ended more than 90 days before at: the ones in force, and the recent or
// coming ones a quote names when a buyer holds their coupon.
func (s *Store) PricingPromotions(ctx context.Context, shopID string, at time.Time) ([]*cataloguev1.Promotion, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+promotionColumns+` FROM promotions
		WHERE shop_id=$1 AND enabled AND (ends_at IS NULL OR ends_at > $2::timestamptz - interval '90 days') ORDER BY promotion_id`, shopID, at)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*cataloguev1.Promotion
	for rows.Next() {
		p, _, err := scanPromotion(rows, at)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
