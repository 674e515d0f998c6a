package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Alert is a buyer's parcel with an open logistics problem.
type Alert struct {
	ParcelID, ShopID, BuyerID, OrderID, TrackingNumber, Detail string
	Since                                                      time.Time
}

// RaiseAlert records (or re-opens) a parcel's logistics problem.
func RaiseAlert(ctx context.Context, tx pgx.Tx, a Alert) error {
	_, err := tx.Exec(ctx, `INSERT INTO logistics_alerts (parcel_id, shop_id, buyer_id, order_id, tracking_number, detail, since)
		VALUES ($1,$2,$3,$4,$5,$6,$7)
		ON CONFLICT (parcel_id) DO UPDATE SET detail = EXCLUDED.detail, since = EXCLUDED.since, cleared_at = NULL`,
		a.ParcelID, a.ShopID, a.BuyerID, a.OrderID, a.TrackingNumber, a.Detail, a.Since)
	if err != nil {
		return fmt.Errorf("raise logistics alert: %w", err)
	}
	return nil
}

// ClearAlert closes a parcel's problem (delivered after all).
func ClearAlert(ctx context.Context, tx pgx.Tx, parcelID string, at time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE logistics_alerts SET cleared_at = $2 WHERE parcel_id = $1 AND cleared_at IS NULL`,
		parcelID, at); err != nil {
		return fmt.Errorf("clear logistics alert: %w", err)
	}
	return nil
}

// OpenAlert is the buyer's open logistics problem with the shop: of the
// order when one is named, else the most recent of any order.
func OpenAlert(ctx context.Context, q Q, shopID, buyerID, orderID string) (Alert, bool, error) {
	var a Alert
	err := q.QueryRow(ctx, `SELECT parcel_id, shop_id, buyer_id, order_id, tracking_number, detail, since
		FROM logistics_alerts WHERE shop_id = $1 AND buyer_id = $2 AND cleared_at IS NULL AND ($3 = '' OR order_id = $3)
		ORDER BY since DESC LIMIT 1`, shopID, buyerID, orderID).
		Scan(&a.ParcelID, &a.ShopID, &a.BuyerID, &a.OrderID, &a.TrackingNumber, &a.Detail, &a.Since)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("open logistics alert: %w", err)
	}
	return a, true, nil
}
