package store

import (
	"context"
	"fmt"
	"strings"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
)

// Order of a product listing (the contract's ProductOrderBy numbers).
type Order int

// Orders.
const (
	OrderRelevance  Order = 1
	OrderPriceAsc   Order = 2
	OrderPriceDesc  Order = 3
	OrderSalesDesc  Order = 4
	OrderRatingDesc Order = 5
	OrderNewest     Order = 6
)

// ProductQuery filters, orders and pages products.
type ProductQuery struct {
	ShopID             string // "" = every shop
	Category           int16  // 0 = any
	Brands             []string
	MinPriceFen        int64
	MaxPriceFen        int64 // 0 = no limit
	InStockOnly        bool
	CODOnly            bool
	IncludeUnpublished bool
	IncludeArchived    bool
	Text               string // search text; "" = no text match
	Order              Order
	After              *Cursor
	Limit              int
}

// Cursor is the keyset position of the last row of a page: every order is
// expressed as one ascending number plus the product id as tie-break. Each
// key but relevance's has an index (shop_id, key, product_id) (migration
// 00004), so a page of a shop's products is read in order from it and
// stops after its rows, however many products the shop has.
type Cursor struct {
	Key float64 `json:"k"`
	ID  string  `json:"i"`
}

func sortKey(o Order) (string, error) {
	switch o {
	case OrderRelevance:
		// Whole-query substring hits first, then fuzzy word similarity.
		return `-((CASE WHEN p.search_text ILIKE @full THEN 1 ELSE 0 END)::float8 + word_similarity(@q, p.search_text))`, nil
	case OrderPriceAsc:
		return `p.price_fen::float8`, nil
	case OrderPriceDesc:
		return `-p.price_fen::float8`, nil
	case OrderSalesDesc, 0:
		return `-p.sales_count::float8`, nil
	case OrderRatingDesc:
		return `-p.rating`, nil
	case OrderNewest:
		// epoch of the UTC wall time: the same number, but immutable, so
		// an index can hold it.
		return `-(extract(epoch FROM p.created_at AT TIME ZONE 'UTC') * 1000000)::float8`, nil
	}
	return "", fmt.Errorf("unknown order %d", o)
}

// ListProducts runs a query and returns one page plus the cursor of its
// last row when more may follow.
func (s *Store) ListProducts(ctx context.Context, q ProductQuery) ([]*cataloguev1.Product, *Cursor, error) {
	key, err := sortKey(q.Order)
	if err != nil {
		return nil, nil, err
	}
	where := []string{"true"}
	args := map[string]any{"limit": q.Limit + 1, "q": q.Text, "full": likePattern(q.Text)}
	if q.ShopID != "" {
		where = append(where, "p.shop_id = @shop")
		args["shop"] = q.ShopID
	}
	if q.Category != 0 {
		where = append(where, "p.category = @category")
		args["category"] = q.Category
	}
	if len(q.Brands) > 0 {
		where = append(where, "p.brand = ANY(@brands)")
		args["brands"] = q.Brands
	}
	if q.MinPriceFen > 0 {
		where = append(where, "p.price_fen >= @min_price")
		args["min_price"] = q.MinPriceFen
	}
	if q.MaxPriceFen > 0 {
		where = append(where, "p.price_fen <= @max_price")
		args["max_price"] = q.MaxPriceFen
	}
	if q.InStockOnly {
		where = append(where, "EXISTS (SELECT 1 FROM stock s WHERE s.product_id = p.product_id AND s.available > 0)")
	}
	if q.CODOnly {
		where = append(where, "p.cod_eligible")
	}
	if !q.IncludeUnpublished {
		where = append(where, "p.published")
	}
	if !q.IncludeArchived {
		where = append(where, "NOT p.archived")
	}
	if q.Text != "" {
		// Every term must occur as a substring (Chinese has no spaces, so a
		// term like 羽绒服 is found inside 男士加厚羽绒服), or the whole query
		// must be similar enough to a word of the text (typos, near misses).
		terms := strings.Fields(q.Text)
		conds := make([]string, len(terms))
		for i, t := range terms {
			name := fmt.Sprintf("term%d", i)
			args[name] = likePattern(t)
			conds[i] = "p.search_text ILIKE @" + name
		}
		where = append(where, "(("+strings.Join(conds, " AND ")+") OR @q <% p.search_text)")
	}
	if q.After != nil {
		where = append(where, "("+key+", p.product_id) > (@after_key, @after_id)")
		args["after_key"], args["after_id"] = q.After.Key, q.After.ID
	}
	sql := `SELECT ` + productColumns + `, ` + key + ` AS sort_key FROM products p WHERE ` +
		strings.Join(where, " AND ") + ` ORDER BY sort_key, p.product_id LIMIT @limit`
	rows, err := s.pool.Query(ctx, sql, namedArgs(args))
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var (
		out  []*cataloguev1.Product
		keys []float64
	)
	for rows.Next() {
		var k float64
		p, _, err := scanProduct(scanWithKey{rows, &k})
		if err != nil {
			return nil, nil, err
		}
		out = append(out, p)
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	var next *Cursor
	if len(out) > q.Limit {
		out = out[:q.Limit]
		next = &Cursor{Key: keys[q.Limit-1], ID: out[q.Limit-1].GetProductId()}
	}
	return out, next, s.attachStock(ctx, s.pool, out...)
}

// scanWithKey appends the sort key to the product columns.
type scanWithKey struct {
	r   rowScanner
	key *float64
}

func (s scanWithKey) Scan(dest ...any) error { return s.r.Scan(append(dest, s.key)...) }

// Substitutes lists in-stock, published products of the same shop and
// category as p, nearest in price first (ties: better sellers first).
//
// The nearest are the first of the products priced at or above p read
// upwards and the first of those below read downwards, each in the order of
// the index products_shop_category_price (so the cost does not grow with
// the category): within one side, nearer is cheaper-or-dearer in price
// order, so each side's first `limit` hold all of the answer's from it.
func (s *Store) Substitutes(ctx context.Context, p *cataloguev1.Product, quantity int32, limit int) ([]*cataloguev1.Product, error) {
	const side = `SELECT p.* FROM products p
		WHERE p.shop_id = $1 AND p.category = $2 AND p.product_id <> $3 AND p.published AND NOT p.archived
		  AND EXISTS (SELECT 1 FROM stock s WHERE s.product_id = p.product_id AND s.available >= $6)`
	rows, err := s.pool.Query(ctx, `
		SELECT `+productColumns+` FROM (
		  (`+side+` AND p.price_fen >= $4 ORDER BY p.price_fen, p.sales_count DESC, p.product_id LIMIT $5)
		  UNION ALL
		  (`+side+` AND p.price_fen < $4 ORDER BY p.price_fen DESC, p.sales_count DESC, p.product_id LIMIT $5)
		) p
		ORDER BY abs(p.price_fen - $4), p.sales_count DESC, p.product_id
		LIMIT $5`,
		p.GetShopId(), int16(p.GetCategory()), p.GetProductId(), p.GetPriceFen(), limit, quantity)
	if err != nil {
		return nil, err
	}
	out, err := collectProducts(rows)
	if err != nil {
		return nil, err
	}
	return out, s.attachStock(ctx, s.pool, out...)
}
