package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

// Every create and every command is safe to retry with its Idempotency-Key:
// 50 concurrent creates with one key and one body answer one record (never
// a 409); the key with a different body is one documented error, 400
// INVALID_ARGUMENT naming request_id with rule request_id_reused, for
// orders, cases, complaints and sessions alike; a command retried with its
// key — even with the etag it sent first, stale by now — answers its first
// result instead of a conflict.
func TestRetriesWithIdempotencyKeys(t *testing.T) {
	s := StartStack(t)
	buyer := Token(t, identity.Identity{Subject: "buyer_retry", Role: identity.RoleBuyer})
	agent := Token(t, identity.Identity{Subject: "agent_retry", Role: identity.RoleAgent, Rank: identity.RankAgent,
		Group: identity.GroupAfterSale, ShopID: "shop_demo"})
	reused := func(r Resp, what string) {
		t.Helper()
		e := r.Error(t, http.StatusBadRequest, "INVALID_ARGUMENT")
		if Str(e, "field_violations", 0, "field") != "request_id" || Str(e, "field_violations", 0, "rule") != "request_id_reused" {
			t.Errorf("%s: %v, want request_id / request_id_reused", what, e)
		}
	}

	// An order, paid, shipped, received.
	orderID, placed := placeOrder(t, s, buyer, "retry-order-0001")
	other := map[string]any{"shop_id": "shop_demo", "kind": "ORDER_KIND_NORMAL", "address": address,
		"lines": []any{map[string]any{"product_id": "prd_seed01", "sku_id": "sku_seed01blkL", "quantity": 2}}}
	reused(s.Do(t, "POST", "/v1/orders", buyer, other, "Idempotency-Key", "retry-order-0001"), "order with another body")
	total, line := Str(placed, "order", "price", "total_fen"), Str(placed, "order", "lines", 0, "line_id")
	pay := map[string]any{"payment_ref": "alipay-retry-0001", "amount_fen": total}
	s.Do(t, "POST", "/v1/orders/"+orderID+":pay", buyer, pay, "Idempotency-Key", "retry-pay-0001").OK(t, "pay")
	s.Do(t, "POST", "/v1/orders/"+orderID+":pay", buyer, pay, "Idempotency-Key", "retry-pay-0001").OK(t, "pay again")
	ship := map[string]any{"shipment": map[string]any{"carrier": "顺丰速运", "tracking_number": "SF5550001111", "method": "SHIPPING_METHOD_EXPRESS"}}
	s.Do(t, "POST", "/v1/orders/"+orderID+":ship", agent, ship, "Idempotency-Key", "retry-ship-0001").OK(t, "ship")
	s.Do(t, "POST", "/v1/orders/"+orderID+":confirmReceipt", buyer, map[string]any{}, "Idempotency-Key", "retry-recv-0001").OK(t, "confirm")

	// 50 concurrent identical case creates: one case, every answer 200.
	kase := map[string]any{"order_id": orderID, "type": "CASE_TYPE_RETURN_REFUND", "reason": "CASE_REASON_QUALITY_PROBLEM",
		"reason_detail": "拉链坏了", "lines": []any{map[string]any{"order_line_id": line, "quantity": 1}},
		"requested_amount_fen": total, "refund_channel": "REFUND_CHANNEL_ORIGINAL_PATH",
		"evidence": []any{map[string]any{"kind": "EVIDENCE_KIND_PHOTO", "url": "https://img.example/zip.jpg"}}}
	ids := concurrently(t, s, 50, "/v1/cases", buyer, kase, "retry-case-0001", "case", "case_id")
	if len(ids) != 1 {
		t.Fatalf("50 identical creates made %d cases: %v", len(ids), ids)
	}
	var caseID string
	for id := range ids {
		caseID = id
	}
	kase["reason_detail"] = "别的理由"
	reused(s.Do(t, "POST", "/v1/cases", buyer, kase, "Idempotency-Key", "retry-case-0001"), "case with another body")

	// Approve, then retry with the same key and the now-stale etag.
	cur := s.Do(t, "GET", "/v1/cases/"+caseID, agent, nil).OK(t, "case")
	approve := map[string]any{"etag": Str(cur, "case", "etag"), "note": "请寄回", "type": "CASE_TYPE_RETURN_REFUND",
		"return_address": map[string]any{"province": "浙江省", "city": "杭州市", "district": "余杭区", "street": "仓前街道 1 号",
			"contact_name": "售后仓", "contact_phone": "13900139000"}}
	first := s.Do(t, "POST", "/v1/cases/"+caseID+":approve", agent, approve, "Idempotency-Key", "retry-approve-0001").OK(t, "approve")
	again := s.Do(t, "POST", "/v1/cases/"+caseID+":approve", agent, approve, "Idempotency-Key", "retry-approve-0001").OK(t, "approve retried")
	if Str(again, "case", "etag") != Str(first, "case", "etag") || Str(again, "case", "state") != "CASE_STATE_AWAITING_BUYER_RETURN" {
		t.Fatalf("the retry answered %s %s, the first %s %s", Str(again, "case", "state"), Str(again, "case", "etag"),
			Str(first, "case", "state"), Str(first, "case", "etag"))
	}
	// Without the key the same stale etag is the conflict it always was.
	s.Do(t, "POST", "/v1/cases/"+caseID+":approve", agent, approve).Error(t, http.StatusConflict, "ABORTED")
	approve["note"] = "改了"
	reused(s.Do(t, "POST", "/v1/cases/"+caseID+":approve", agent, approve, "Idempotency-Key", "retry-approve-0001"), "approve with another body")

	// Complaints: concurrent identical filings answer one complaint.
	complaint := map[string]any{"customer_ids": []string{"buyer_retry"}, "category": "COMPLAINT_CATEGORY_LOGISTICS",
		"channel": "COMPLAINT_CHANNEL_CHAT", "content": "快递外箱压坏", "customer_demand": "退款"}
	if ids := concurrently(t, s, 20, "/v1/complaints", agent, complaint, "retry-complaint-0001", "complaint", "complaint_id"); len(ids) != 1 {
		t.Fatalf("20 identical filings made %d complaints", len(ids))
	}
	complaint["content"] = "别的"
	reused(s.Do(t, "POST", "/v1/complaints", agent, complaint, "Idempotency-Key", "retry-complaint-0001"), "complaint with another body")

	// Sessions.
	session := map[string]any{"shop_id": "shop_demo", "topic": "SESSION_TOPIC_PRODUCT_INQUIRY", "subject": "尺码"}
	if ids := concurrently(t, s, 20, "/v1/sessions", buyer, session, "retry-session-0001", "session", "session_id"); len(ids) != 1 {
		t.Fatalf("20 identical opens made %d sessions", len(ids))
	}
	session["subject"] = "别的"
	reused(s.Do(t, "POST", "/v1/sessions", buyer, session, "Idempotency-Key", "retry-session-0001"), "session with another body")
}

// concurrently POSTs one body n times at once with one Idempotency-Key and
// returns the distinct ids answered; any answer but 200 fails the test.
func concurrently(t *testing.T, s *Stack, n int, path, token string, body any, key string, kind, idField string) map[string]bool {
	t.Helper()
	raw, _ := json.Marshal(body)
	var mu sync.Mutex
	ids, bad := map[string]bool{}, []string{}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", s.URL+path, bytes.NewReader(raw))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", key)
			resp, err := http.DefaultClient.Do(req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				bad = append(bad, err.Error())
				return
			}
			defer resp.Body.Close()
			var out map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&out)
			if resp.StatusCode != http.StatusOK {
				bad = append(bad, fmt.Sprintf("%d %v", resp.StatusCode, out))
				return
			}
			ids[Str(out, kind, idField)] = true
		})
	}
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d of %d identical POST %s failed: %v", len(bad), n, path, bad)
	}
	return ids
}
