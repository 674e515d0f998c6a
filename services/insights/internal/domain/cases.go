package domain

import "time"

// Unrecorded is the key of a dimension nobody recorded (a case without a
// root cause yet, a product whose category the catalogue never announced).
const Unrecorded = "UNRECORDED"

// CaseLine is a product in a case.
type CaseLine struct {
	ProductID string `json:"product_id"`
	Quantity  int64  `json:"quantity"`
}

// Case is an after-sale case as the cause analysis sees it.
type Case struct {
	ID             string     `json:"case_id"`
	ShopID         string     `json:"shop_id"`
	OrderID        string     `json:"order_id"`
	OpenedAt       time.Time  `json:"opened_at"`
	Type           string     `json:"type"`
	Reason         string     `json:"reason"`
	Cause          string     `json:"cause"`
	Responsibility string     `json:"responsibility"`
	Category       string     `json:"category"`
	RefundedFen    int64      `json:"refunded_fen"`
	Lines          []CaseLine `json:"lines"`
}

// CauseKey is one cause rollup row.
type CauseKey struct {
	ShopID, Day, Dimension, Key string
}

// CauseCounts are its counters.
type CauseCounts struct {
	Cases       int64 `json:"cases,omitempty"`
	RefundedFen int64 `json:"refunded_fen,omitempty"`
}

// ProductKey is one product rollup row.
type ProductKey struct {
	ShopID, Day, ProductID string
}

// ProductCounts are its counters.
type ProductCounts struct {
	UnitsOrdered int64 `json:"units_ordered,omitempty"`
	UnitsInCases int64 `json:"units_in_cases,omitempty"`
	Cases        int64 `json:"cases,omitempty"`
	RefundedFen  int64 `json:"refunded_fen,omitempty"`
}

// CaseContribution is everything a case adds: one count per dimension on
// the day it opened, and its units (and refund, split by units) per product.
type CaseContribution struct {
	Causes   []Contribution[CauseKey, CauseCounts]     `json:"causes"`
	Products []Contribution[ProductKey, ProductCounts] `json:"products"`
}

// Dimensions of the breakdown.
var Dimensions = []string{"type", "reason", "cause", "responsibility", "category"}

func orUnrecorded(s string) string {
	if s == "" {
		return Unrecorded
	}
	return s
}

// Contribution of the case.
func (c Case) Contribution() CaseContribution {
	day := Day(c.OpenedAt)
	var out CaseContribution
	for _, d := range Dimensions {
		v := map[string]string{"type": c.Type, "reason": c.Reason, "cause": c.Cause,
			"responsibility": c.Responsibility, "category": c.Category}[d]
		out.Causes = append(out.Causes, Contribution[CauseKey, CauseCounts]{
			Key:    CauseKey{ShopID: c.ShopID, Day: day, Dimension: d, Key: orUnrecorded(v)},
			Counts: CauseCounts{Cases: 1, RefundedFen: c.RefundedFen}})
	}
	var units int64
	per := map[string]int64{}
	var order []string
	for _, l := range c.Lines {
		if _, ok := per[l.ProductID]; !ok {
			order = append(order, l.ProductID)
		}
		per[l.ProductID] += l.Quantity
		units += l.Quantity
	}
	var given int64
	for i, p := range order {
		share := int64(0)
		if units > 0 {
			share = c.RefundedFen * per[p] / units
		}
		if i == len(order)-1 {
			share = c.RefundedFen - given // the remainder, so the split adds up
		}
		given += share
		out.Products = append(out.Products, Contribution[ProductKey, ProductCounts]{
			Key:    ProductKey{ShopID: c.ShopID, Day: day, ProductID: p},
			Counts: ProductCounts{UnitsInCases: per[p], Cases: 1, RefundedFen: share}})
	}
	return out
}
