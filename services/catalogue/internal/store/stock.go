package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
)

// Outcome of one stock line (the contract's StockLineOutcome numbers).
type Outcome int

// Outcomes.
const (
	Reserved         Outcome = 1
	AlreadyReserved  Outcome = 2
	Insufficient     Outcome = 3
	Unavailable      Outcome = 4
	NotAttempted     Outcome = 5
	Conflict         Outcome = 6
	Released         Outcome = 7
	AlreadyReleased  Outcome = 8
	Committed        Outcome = 9
	AlreadyCommitted Outcome = 10
	NotReserved      Outcome = 11
)

// StockLine is one order line's claim on stock.
type StockLine struct {
	LineID    string
	ProductID string
	SkuID     string
	Quantity  int32
}

// LineResult is what happened to one line and what is left.
type LineResult struct {
	StockLine
	Outcome   Outcome
	Available int64
}

func (r LineResult) failed() bool {
	return r.Outcome == Insufficient || r.Outcome == Unavailable || r.Outcome == Conflict
}

var errRollback = errors.New("rollback: all-or-nothing reservation failed")

// Reserve holds stock for an order's lines, idempotently per (order, line).
// Lines are locked in (product, sku) order so concurrent orders never
// deadlock; the conditional UPDATE makes two orders racing for the last
// unit end with exactly one reservation. Without allowPartial a failing line
// rolls every line of this call back (they report NotAttempted).
func (s *Store) Reserve(ctx context.Context, orderID string, lines []StockLine, allowPartial bool, now time.Time) ([]LineResult, error) {
	results := make([]LineResult, len(lines))
	for i, l := range lines {
		results[i] = LineResult{StockLine: l}
	}
	order := make([]int, len(lines))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		la, lb := lines[order[a]], lines[order[b]]
		if la.ProductID != lb.ProductID {
			return la.ProductID < lb.ProductID
		}
		return la.SkuID < lb.SkuID
	})
	err := s.tx(ctx, func(tx pgx.Tx) error {
		anyFailed := false
		for _, i := range order {
			r := &results[i]
			if err := reserveLine(ctx, tx, orderID, r, now); err != nil {
				return err
			}
			anyFailed = anyFailed || r.failed()
		}
		if anyFailed && !allowPartial {
			return errRollback
		}
		return stockEvent(ctx, tx, "stock.reserved", orderID, "", results, Reserved, now)
	})
	if errors.Is(err, errRollback) {
		for i := range results {
			if results[i].Outcome == Reserved {
				results[i].Outcome = NotAttempted
			}
		}
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return results, s.fillAvailable(ctx, results)
}

func reserveLine(ctx context.Context, tx pgx.Tx, orderID string, r *LineResult, now time.Time) error {
	// Claim the (order, line) key first: a concurrent retry of the same line
	// waits here and then sees this row instead of reserving twice.
	tag, err := tx.Exec(ctx, `
		INSERT INTO stock_reservations (order_id, line_id, product_id, sku_id, quantity, state, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,'RESERVED',$6,$6) ON CONFLICT (order_id, line_id) DO NOTHING`,
		orderID, r.LineID, r.ProductID, r.SkuID, r.Quantity, now)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		var pid, sku, state string
		var qty int32
		if err := tx.QueryRow(ctx, `SELECT product_id, sku_id, quantity, state FROM stock_reservations WHERE order_id=$1 AND line_id=$2`,
			orderID, r.LineID).Scan(&pid, &sku, &qty, &state); err != nil {
			return err
		}
		switch {
		case pid != r.ProductID || sku != r.SkuID || qty != r.Quantity:
			r.Outcome = Conflict
		case state == "RESERVED":
			r.Outcome = AlreadyReserved
		case state == "COMMITTED":
			r.Outcome = AlreadyCommitted
		default:
			r.Outcome = AlreadyReleased
		}
		return nil
	}
	ok, err := sellable(ctx, tx, r.ProductID, r.SkuID)
	if err != nil {
		return err
	}
	if !ok {
		r.Outcome = Unavailable
		return dropReservation(ctx, tx, orderID, r.LineID)
	}
	tag, err = tx.Exec(ctx, `
		UPDATE stock SET available = available - $3, reserved = reserved + $3
		WHERE product_id = $1 AND sku_id = $2 AND available >= $3`, r.ProductID, r.SkuID, r.Quantity)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		r.Outcome = Insufficient
		return dropReservation(ctx, tx, orderID, r.LineID)
	}
	r.Outcome = Reserved
	return nil
}

func dropReservation(ctx context.Context, tx pgx.Tx, orderID, lineID string) error {
	_, err := tx.Exec(ctx, `DELETE FROM stock_reservations WHERE order_id=$1 AND line_id=$2`, orderID, lineID)
	return err
}

// sellable: the product is published and live, and the SKU matches its
// shape (a product with SKUs needs one of them; one without needs none).
func sellable(ctx context.Context, tx pgx.Tx, productID, skuID string) (bool, error) {
	var ok bool
	err := tx.QueryRow(ctx, `
		SELECT p.published AND NOT p.archived AND EXISTS (SELECT 1 FROM stock s WHERE s.product_id = p.product_id AND s.sku_id = $2)
		FROM products p WHERE p.product_id = $1`, productID, skuID).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return ok, err
}

// Release gives reserved stock back (order closed or cancelled). Empty
// lineIDs means every line of the order still reserved.
func (s *Store) Release(ctx context.Context, orderID string, lineIDs []string, reason string, now time.Time) ([]LineResult, error) {
	return s.settle(ctx, orderID, lineIDs, now, "stock.released", reason, Released, func(ctx context.Context, tx pgx.Tx, r *LineResult) error {
		if _, err := tx.Exec(ctx, `UPDATE stock SET available = available + $3, reserved = reserved - $3 WHERE product_id=$1 AND sku_id=$2`,
			r.ProductID, r.SkuID, r.Quantity); err != nil {
			return err
		}
		r.Outcome = Released
		_, err := tx.Exec(ctx, `UPDATE stock_reservations SET state='RELEASED', reason=$3, updated_at=$4 WHERE order_id=$1 AND line_id=$2`,
			orderID, r.LineID, reason, now)
		return err
	})
}

// Commit turns reservations into sales (order paid): reserved goes down,
// the product's sales count goes up.
func (s *Store) Commit(ctx context.Context, orderID string, lineIDs []string, now time.Time) ([]LineResult, error) {
	return s.settle(ctx, orderID, lineIDs, now, "stock.committed", "", Committed, func(ctx context.Context, tx pgx.Tx, r *LineResult) error {
		if _, err := tx.Exec(ctx, `UPDATE stock SET reserved = reserved - $3 WHERE product_id=$1 AND sku_id=$2`,
			r.ProductID, r.SkuID, r.Quantity); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE products SET sales_count = sales_count + $2 WHERE product_id=$1`, r.ProductID, r.Quantity); err != nil {
			return err
		}
		r.Outcome = Committed
		_, err := tx.Exec(ctx, `UPDATE stock_reservations SET state='COMMITTED', updated_at=$3 WHERE order_id=$1 AND line_id=$2`,
			orderID, r.LineID, now)
		return err
	})
}

// settle applies fn to each still-reserved line under a row lock; lines in
// another state report what they already are. The lines fn moved (outcome
// done) are one event of type typ.
func (s *Store) settle(ctx context.Context, orderID string, lineIDs []string, now time.Time, typ, reason string, done Outcome,
	fn func(context.Context, pgx.Tx, *LineResult) error) ([]LineResult, error) {
	var results []LineResult
	err := s.tx(ctx, func(tx pgx.Tx) error {
		results = results[:0]
		var rows pgx.Rows
		var err error
		if len(lineIDs) == 0 {
			rows, err = tx.Query(ctx, `SELECT line_id, product_id, sku_id, quantity, state FROM stock_reservations
				WHERE order_id=$1 AND state='RESERVED' ORDER BY product_id, sku_id, line_id FOR UPDATE`, orderID)
		} else {
			rows, err = tx.Query(ctx, `SELECT line_id, product_id, sku_id, quantity, state FROM stock_reservations
				WHERE order_id=$1 AND line_id = ANY($2) ORDER BY product_id, sku_id, line_id FOR UPDATE`, orderID, lineIDs)
		}
		if err != nil {
			return err
		}
		found := map[string]LineResult{}
		states := map[string]string{}
		for rows.Next() {
			var r LineResult
			var state string
			if err := rows.Scan(&r.LineID, &r.ProductID, &r.SkuID, &r.Quantity, &state); err != nil {
				rows.Close()
				return err
			}
			found[r.LineID], states[r.LineID] = r, state
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		ids := lineIDs
		if len(ids) == 0 {
			for id := range found {
				ids = append(ids, id)
			}
			sort.Strings(ids)
		}
		for _, id := range ids {
			r, ok := found[id]
			if !ok {
				results = append(results, LineResult{StockLine: StockLine{LineID: id}, Outcome: NotReserved})
				continue
			}
			switch states[id] {
			case "RELEASED":
				r.Outcome = AlreadyReleased
			case "COMMITTED":
				r.Outcome = AlreadyCommitted
			default:
				if err := fn(ctx, tx, &r); err != nil {
					return err
				}
			}
			results = append(results, r)
		}
		return stockEvent(ctx, tx, typ, orderID, reason, results, done, now)
	})
	if err != nil {
		return nil, err
	}
	return results, s.fillAvailable(ctx, results)
}

// stockEvent writes one event for the lines of an order this transaction
// moved (outcome done); none when it moved none (a retry).
func stockEvent(ctx context.Context, tx pgx.Tx, typ, orderID, reason string, results []LineResult, done Outcome, now time.Time) error {
	var lines []*eventsv1.ReservedStockLine
	for _, r := range results {
		if r.Outcome == done {
			lines = append(lines, &eventsv1.ReservedStockLine{LineId: r.LineID, ProductId: r.ProductID, SkuId: r.SkuID, Quantity: r.Quantity})
		}
	}
	if len(lines) == 0 {
		return nil
	}
	var shop string
	if err := tx.QueryRow(ctx, `SELECT shop_id FROM products WHERE product_id=$1`, lines[0].GetProductId()).Scan(&shop); err != nil {
		return err
	}
	return event(ctx, tx, typ, orderID, shop, 0, now, &eventsv1.StockReservationChanged{OrderId: orderID, Lines: lines, Reason: reason})
}

func (s *Store) fillAvailable(ctx context.Context, results []LineResult) error {
	for i := range results {
		if results[i].ProductID == "" {
			continue
		}
		err := s.pool.QueryRow(ctx, `SELECT available FROM stock WHERE product_id=$1 AND sku_id=$2`,
			results[i].ProductID, results[i].SkuID).Scan(&results[i].Available)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
	}
	return nil
}

// Adjustment is a manual stock change.
type Adjustment struct {
	RequestID string
	ProductID string
	SkuID     string
	Delta     int64
	Reason    int16
	Note      string
	Actor     string
}

// Adjust applies a manual change once per request id; stock never goes
// below zero.
func (s *Store) Adjust(ctx context.Context, a Adjustment, now time.Time) (StockRow, error) {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO stock_adjustments (request_id, product_id, sku_id, delta, reason, note, actor, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (request_id) DO NOTHING`,
			a.RequestID, a.ProductID, a.SkuID, a.Delta, a.Reason, a.Note, a.Actor, now)
		if err != nil || tag.RowsAffected() == 0 {
			return err // a retry: the first call's effect stands
		}
		tag, err = tx.Exec(ctx, `UPDATE stock SET available = available + $3 WHERE product_id=$1 AND sku_id=$2 AND available + $3 >= 0`,
			a.ProductID, a.SkuID, a.Delta)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var avail int64
			if err := tx.QueryRow(ctx, `SELECT available FROM stock WHERE product_id=$1 AND sku_id=$2`, a.ProductID, a.SkuID).Scan(&avail); errors.Is(err, pgx.ErrNoRows) {
				if a.SkuID == "" {
					return errs.Field("sku_id", "catalogue.stock.sku_required", "product %s has SKUs: name the sku_id", a.ProductID)
				}
				return errs.NotFound("sku", a.SkuID)
			} else if err != nil {
				return err
			}
			return errs.Precondition("only %d available; removing %d would make stock negative", avail, -a.Delta)
		}
		var shop string
		var after int64
		if err := tx.QueryRow(ctx, `SELECT p.shop_id, s.available FROM products p JOIN stock s ON s.product_id = p.product_id
			WHERE s.product_id=$1 AND s.sku_id=$2`, a.ProductID, a.SkuID).Scan(&shop, &after); err != nil {
			return err
		}
		return event(ctx, tx, "stock.adjusted", a.ProductID, shop, 0, now, &eventsv1.StockAdjusted{ProductId: a.ProductID,
			SkuId: a.SkuID, Delta: a.Delta, Reason: cataloguev1.StockAdjustmentReason(a.Reason), AvailableAfter: after,
			RequestId: a.RequestID})
	})
	if err != nil {
		return StockRow{}, err
	}
	var r StockRow
	r.SkuID = a.SkuID
	err = s.pool.QueryRow(ctx, `SELECT available, reserved FROM stock WHERE product_id=$1 AND sku_id=$2`, a.ProductID, a.SkuID).Scan(&r.Available, &r.Reserved)
	if errors.Is(err, pgx.ErrNoRows) {
		return StockRow{}, errs.NotFound("stock of product", a.ProductID+"/"+a.SkuID)
	}
	return r, err
}

// Stock lists a product's stock rows (one with sku "" for a product without SKUs).
func (s *Store) Stock(ctx context.Context, productID string) ([]StockRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT sku_id, available, reserved FROM stock WHERE product_id=$1 ORDER BY sku_id`, productID)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StockRow, error) {
		var s StockRow
		return s, r.Scan(&s.SkuID, &s.Available, &s.Reserved)
	})
	if err != nil {
		return nil, fmt.Errorf("stock of %s: %w", productID, err)
	}
	return out, nil
}
