package store

import (
	"context"
	"errors"
	"fmt"
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

// docOf strips what the columns own (ids, stock, counters, lifecycle,
// etag, times) and renders the rest as the stored document.
func docOf(p *cataloguev1.Product) ([]byte, error) {
	d := proto.Clone(p).(*cataloguev1.Product)
	d.ProductId, d.ShopId, d.Etag = "", "", ""
	d.Stock, d.ReservedStock, d.SalesCount, d.Rating = 0, 0, 0, 0
	d.Published, d.Archived, d.ArchivedAt, d.CreatedAt, d.UpdatedAt = false, false, nil, nil, nil
	for _, s := range d.Skus {
		s.Stock, s.ReservedStock = 0, 0
	}
	return docJSON.Marshal(d)
}

// SearchText is what text search matches for a product.
func SearchText(p *cataloguev1.Product) string {
	return strings.Join([]string{p.GetName(), p.GetBrand(), p.GetModel(), p.GetSpecs(), p.GetMaterial(), p.GetSubCategory()}, " ")
}

// StockRow is the stock of a product ("" sku) or of one SKU.
type StockRow struct {
	SkuID     string
	Available int64
	Reserved  int64
}

// stockRows derives the stock rows a new product starts with.
func stockRows(p *cataloguev1.Product) []StockRow {
	if len(p.GetSkus()) == 0 {
		return []StockRow{{Available: p.GetStock()}}
	}
	rows := make([]StockRow, 0, len(p.GetSkus()))
	for _, s := range p.GetSkus() {
		rows = append(rows, StockRow{SkuID: s.GetSkuId(), Available: s.GetStock()})
	}
	return rows
}

// InsertProduct stores a new product and its stock. When the shop already
// used requestID, nothing is written and the earlier product is returned
// with existed = true (idempotent create).
func (s *Store) InsertProduct(ctx context.Context, p *cataloguev1.Product, requestID string, now time.Time) (out *cataloguev1.Product, existed bool, err error) {
	doc, err := docOf(p)
	if err != nil {
		return nil, false, err
	}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			INSERT INTO products (product_id, shop_id, category, brand, name, price_fen, cod_eligible, published,
			                      sales_count, rating, search_text, doc, request_id, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,NULLIF($13,''),$14,$14)
			ON CONFLICT (shop_id, request_id) DO NOTHING`,
			p.GetProductId(), p.GetShopId(), int16(p.GetCategory()), p.GetBrand(), p.GetName(), p.GetPriceFen(),
			p.GetCodEligible(), p.GetPublished(), p.GetSalesCount(), p.GetRating(), SearchText(p), doc, requestID, now)
		if err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("%w: product %s", errs.ErrAlreadyExists, p.GetProductId())
			}
			return err
		}
		if tag.RowsAffected() == 0 {
			existed = true
			return nil
		}
		for _, r := range stockRows(p) {
			if _, err := tx.Exec(ctx, `INSERT INTO stock (product_id, sku_id, available) VALUES ($1,$2,$3)`,
				p.GetProductId(), r.SkuID, r.Available); err != nil {
				return err
			}
		}
		return event(ctx, tx, "product.created", p.GetProductId(), p.GetShopId(), 1, now,
			&eventsv1.ProductChanged{Product: p, WasPublished: false, PreviousPriceFen: p.GetPriceFen()})
	})
	if err != nil {
		return nil, false, err
	}
	if existed {
		var id string
		if err := s.pool.QueryRow(ctx, `SELECT product_id FROM products WHERE shop_id=$1 AND request_id=$2`,
			p.GetShopId(), requestID).Scan(&id); err != nil {
			return nil, false, err
		}
		out, err = s.GetProduct(ctx, id)
		return out, true, err
	}
	out, err = s.GetProduct(ctx, p.GetProductId())
	return out, false, err
}

const productColumns = `p.product_id, p.shop_id, p.published, p.archived, p.archived_at, p.sales_count, p.rating,
	p.doc, p.version, p.created_at, p.updated_at`

type rowScanner interface{ Scan(dest ...any) error }

func scanProduct(r rowScanner) (*cataloguev1.Product, int64, error) {
	var (
		p                    cataloguev1.Product
		id, shop             string
		published, archived  bool
		archivedAt           *time.Time
		sales                int64
		rating               float64
		doc                  []byte
		version              int64
		createdAt, updatedAt time.Time
	)
	if err := r.Scan(&id, &shop, &published, &archived, &archivedAt, &sales, &rating, &doc, &version, &createdAt, &updatedAt); err != nil {
		return nil, 0, err
	}
	if err := protojson.Unmarshal(doc, &p); err != nil {
		return nil, 0, fmt.Errorf("product %s: stored document unreadable: %w", id, err)
	}
	p.ProductId, p.ShopId, p.Published, p.Archived = id, shop, published, archived
	p.SalesCount, p.Rating, p.Etag = sales, rating, lifecycle.ETag(version)
	p.CreatedAt, p.UpdatedAt = timestamppb.New(createdAt), timestamppb.New(updatedAt)
	if archivedAt != nil {
		p.ArchivedAt = timestamppb.New(*archivedAt)
	}
	return &p, version, nil
}

// attachStock fills stock, reserved_stock and each SKU's numbers.
func (s *Store) attachStock(ctx context.Context, q querier, products ...*cataloguev1.Product) error {
	if len(products) == 0 {
		return nil
	}
	ids := make([]string, len(products))
	byID := make(map[string]*cataloguev1.Product, len(products))
	for i, p := range products {
		ids[i] = p.GetProductId()
		byID[p.GetProductId()] = p
		p.Stock, p.ReservedStock = 0, 0
	}
	rows, err := q.Query(ctx, `SELECT product_id, sku_id, available, reserved FROM stock WHERE product_id = ANY($1)`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var pid, sku string
		var avail, reserved int64
		if err := rows.Scan(&pid, &sku, &avail, &reserved); err != nil {
			return err
		}
		p := byID[pid]
		p.Stock += avail
		p.ReservedStock += reserved
		for _, k := range p.GetSkus() {
			if k.GetSkuId() == sku {
				k.Stock, k.ReservedStock = avail, reserved
			}
		}
	}
	return rows.Err()
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// GetProduct reads one product with its stock.
func (s *Store) GetProduct(ctx context.Context, id string) (*cataloguev1.Product, error) {
	p, _, err := scanProduct(s.pool.QueryRow(ctx, `SELECT `+productColumns+` FROM products p WHERE p.product_id=$1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.NotFound("product", id)
	}
	if err != nil {
		return nil, err
	}
	return p, s.attachStock(ctx, s.pool, p)
}

// BatchGetProducts reads products by id (missing ids are left out).
func (s *Store) BatchGetProducts(ctx context.Context, ids []string) ([]*cataloguev1.Product, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+productColumns+` FROM products p WHERE p.product_id = ANY($1) ORDER BY p.product_id`, ids)
	if err != nil {
		return nil, err
	}
	out, err := collectProducts(rows)
	if err != nil {
		return nil, err
	}
	return out, s.attachStock(ctx, s.pool, out...)
}

func collectProducts(rows pgx.Rows) ([]*cataloguev1.Product, error) {
	defer rows.Close()
	var out []*cataloguev1.Product
	for rows.Next() {
		p, _, err := scanProduct(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// UpdateProduct reads the product under a row lock, lets fn change it (fn
// sees the stored version for etag checks) and writes it back with the
// version bumped. New SKUs added by fn get stock rows.
func (s *Store) UpdateProduct(ctx context.Context, id string, now time.Time, fn func(p *cataloguev1.Product, version int64) error) (*cataloguev1.Product, error) {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		p, version, err := scanProduct(tx.QueryRow(ctx, `SELECT `+productColumns+` FROM products p WHERE p.product_id=$1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound("product", id)
		}
		if err != nil {
			return err
		}
		if err := s.attachStock(ctx, tx, p); err != nil {
			return err
		}
		before := map[string]bool{}
		for _, k := range p.GetSkus() {
			before[k.GetSkuId()] = true
		}
		wasPublished, wasArchived, wasPrice := p.GetPublished(), p.GetArchived(), p.GetPriceFen()
		if err := fn(p, version); err != nil {
			return err
		}
		doc, err := docOf(p)
		if err != nil {
			return err
		}
		var archivedAt *time.Time
		if p.GetArchivedAt() != nil {
			t := p.GetArchivedAt().AsTime()
			archivedAt = &t
		}
		if _, err := tx.Exec(ctx, `
			UPDATE products SET category=$2, brand=$3, name=$4, price_fen=$5, cod_eligible=$6, published=$7,
			       archived=$8, archived_at=$9, search_text=$10, doc=$11, version=version+1, updated_at=$12
			WHERE product_id=$1`,
			id, int16(p.GetCategory()), p.GetBrand(), p.GetName(), p.GetPriceFen(), p.GetCodEligible(), p.GetPublished(),
			p.GetArchived(), archivedAt, SearchText(p), doc, now); err != nil {
			return err
		}
		for _, k := range p.GetSkus() {
			if !before[k.GetSkuId()] {
				if _, err := tx.Exec(ctx, `INSERT INTO stock (product_id, sku_id, available) VALUES ($1,$2,$3)`,
					id, k.GetSkuId(), k.GetStock()); err != nil {
					return err
				}
			}
		}
		typ := "product.updated"
		switch {
		case p.GetArchived() && !wasArchived:
			typ = "product.archived"
		case !p.GetArchived() && wasArchived:
			typ = "product.restored"
		}
		return event(ctx, tx, typ, id, p.GetShopId(), version+1, now,
			&eventsv1.ProductChanged{Product: p, WasPublished: wasPublished, PreviousPriceFen: wasPrice})
	})
	if err != nil {
		return nil, err
	}
	return s.GetProduct(ctx, id)
}
