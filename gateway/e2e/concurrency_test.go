package e2e_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

// etagResource is one resource with an etag: how to read it (its etag in
// the ETag header and in the body at etagPath) and how to change it.
type etagResource struct {
	name     string
	read     string // GET path
	etagPath []any  // where the read's body holds the etag
	change   string // PATCH path
	body     func(i int) map[string]any
}

// Optimistic concurrency works one way everywhere: every read returns the
// resource's ETag; a change carries it as If-Match or in the body (the
// same precondition); of concurrent changes made from one read exactly
// one succeeds and the others are 409 ABORTED — on every resource with an
// etag that a PATCH changes.
func TestConcurrentChangesWithOneEtag(t *testing.T) {
	s := StartStack(t)
	manager := Token(t, identity.Identity{Subject: "mgr_etag", Role: identity.RoleAgent, Rank: identity.RankManager,
		Group: identity.GroupGeneral, ShopID: "shop_demo"})
	buyer := Token(t, identity.Identity{Subject: "buyer_etag", Role: identity.RoleBuyer})

	first := func(path, list, id string) string {
		t.Helper()
		b := s.Do(t, "GET", path, manager, nil).OK(t, "list "+path)
		v := Str(b, list, 0, id)
		if v == "" {
			t.Fatalf("%s: no %s in %v", path, id, b)
		}
		return v
	}
	faq := first("/v1/faqs?shop_id=shop_demo", "faqs", "faq_id")
	promo := first("/v1/promotions?shop_id=shop_demo", "promotions", "promotion_id")
	reply := first("/v1/quick-replies?shop_id=shop_demo", "quick_replies", "quick_reply_id")
	// A chat whose buyer waits for an answer: an idle one is closed within
	// 0.2 s at this stack's shrunk policy (30 min / 8640), one awaiting a
	// reply is not. On a slow machine the janitor may close the chat before
	// the buyer's first message: then open another.
	var session string
	for try := 0; session == ""; try++ {
		id := Str(s.Do(t, "POST", "/v1/sessions", buyer, map[string]any{
			"shop_id": "shop_demo", "topic": "SESSION_TOPIC_PRODUCT_INQUIRY", "subject": "尺码", "product_id": "prd_seed01",
		}, "Idempotency-Key", fmt.Sprintf("e2e-etag-session-%d", try)).OK(t, "open session"), "session", "session_id")
		asked := s.Do(t, "POST", "/v1/sessions/"+id+"/messages", buyer, map[string]any{"text": "175穿什么码？"},
			"Idempotency-Key", fmt.Sprintf("e2e-etag-session-msg-%d", try))
		switch {
		case asked.Code == http.StatusOK:
			session = id
		case try == 4:
			t.Fatalf("the buyer's first message: HTTP %d %s", asked.Code, asked.Raw)
		}
	}
	complaint := Str(s.Do(t, "POST", "/v1/complaints", manager, map[string]any{
		"customer_ids": []string{"buyer_etag"}, "category": "COMPLAINT_CATEGORY_LOGISTICS",
		"channel": "COMPLAINT_CHANNEL_CHAT", "content": "包裹破损", "customer_demand": "补发",
	}, "Idempotency-Key", "e2e-etag-complaint").OK(t, "file complaint"), "complaint", "complaint_id")
	// the auto-reply has an etag once saved
	s.Do(t, "PATCH", "/v1/shops/shop_demo/auto-replies/AGENT_GROUP_PRE_SALE", manager,
		map[string]any{"greeting_text": "您好，欢迎光临"}).OK(t, "save the auto-reply")

	resources := []etagResource{
		{"product", "/v1/products/prd_seed01", []any{"product", "etag"}, "/v1/products/prd_seed01",
			func(i int) map[string]any { return map[string]any{"description": fmt.Sprintf("第 %d 版描述", i)} }},
		{"faq", "/v1/faqs/" + faq, []any{"faq", "etag"}, "/v1/faqs/" + faq,
			func(i int) map[string]any {
				return map[string]any{"answer": fmt.Sprintf("可以开发票（%d）。", i)}
			}},
		{"promotion", "/v1/promotions/" + promo, []any{"promotion", "etag"}, "/v1/promotions/" + promo,
			func(i int) map[string]any { return map[string]any{"description": fmt.Sprintf("活动说明 %d", i)} }},
		{"quick reply", "/v1/quick-replies/" + reply, []any{"quick_reply", "etag"}, "/v1/quick-replies/" + reply,
			func(i int) map[string]any { return map[string]any{"text": fmt.Sprintf("亲，稍等（%d）", i)} }},
		{"session", "/v1/sessions/" + session, []any{"session", "etag"}, "/v1/sessions/" + session,
			func(i int) map[string]any { return map[string]any{"subject": fmt.Sprintf("尺码 %d", i)} }},
		{"auto-reply", "/v1/shops/shop_demo/auto-replies/AGENT_GROUP_PRE_SALE", []any{"auto_reply", "etag"},
			"/v1/shops/shop_demo/auto-replies/AGENT_GROUP_PRE_SALE",
			func(i int) map[string]any { return map[string]any{"greeting_text": fmt.Sprintf("您好（%d）", i)} }},
		{"after-sale settings", "/v1/shops/shop_demo/aftersaleSettings", []any{"settings", "etag"},
			"/v1/shops/shop_demo/aftersaleSettings?update_mask=default_return_address",
			func(i int) map[string]any {
				return map[string]any{"default_return_address": map[string]any{"province": "浙江省", "city": "杭州市",
					"district": "余杭区", "street": fmt.Sprintf("仓前街道 %d 号", i+1), "contact_name": "售后", "contact_phone": "13800138000"}}
			}},
		{"complaint", "/v1/complaints/" + complaint, []any{"complaint", "etag"},
			// body "*": the mask is in the body, as the JSON mapping of a
			// FieldMask writes it (lowerCamelCase)
			"/v1/complaints/" + complaint,
			func(i int) map[string]any {
				return map[string]any{"customer_demand": fmt.Sprintf("补发（%d）", i), "update_mask": "customerDemand"}
			},
		},
	}
	// a command without a key is told how to send one
	noKey := s.Do(t, "POST", "/v1/orders", buyer, map[string]any{"shop_id": "shop_demo", "kind": "ORDER_KIND_NORMAL",
		"lines": []any{map[string]any{"product_id": "prd_seed01", "sku_id": "sku_seed01blkL", "quantity": 1}}, "address": address})
	if e := noKey.Error(t, http.StatusBadRequest, "INVALID_ARGUMENT"); !strings.Contains(Str(e, "message"), "send an Idempotency-Key header or request_id") {
		t.Fatalf("a create without a key: %v", e)
	}
	for _, r := range resources {
		t.Run(r.name, func(t *testing.T) {
			got := s.Do(t, "GET", r.read, manager, nil).OK(t, "read")
			etag := Str(got, r.etagPath...)
			if etag == "" {
				t.Fatalf("no etag at %v: %v", r.etagPath, got)
			}
			if h := s.Do(t, "GET", r.read, manager, nil).Header.Get("ETag"); h != etag {
				t.Fatalf("ETag header %q, body etag %q", h, etag)
			}
			// 8 changes from the same read, at once: half send If-Match,
			// half the etag in the body.
			const n = 8
			codes := make([]Resp, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					b := r.body(i)
					if i%2 == 0 {
						codes[i] = s.Do(t, "PATCH", r.change, manager, b, "If-Match", etag)
						return
					}
					b["etag"] = etag // the body is the resource (or the request, for a complaint)
					codes[i] = s.Do(t, "PATCH", r.change, manager, b)
				}(i)
			}
			wg.Wait()
			ok := 0
			for i, c := range codes {
				switch {
				case c.Code == http.StatusOK:
					ok++
					if c.Header.Get("ETag") == "" || c.Header.Get("ETag") == etag {
						t.Errorf("change %d: ETag %q after the change (was %q)", i, c.Header.Get("ETag"), etag)
					}
				case c.Code == http.StatusConflict && Str(c.Body, "error", "status") == "ABORTED":
				default:
					t.Errorf("change %d: HTTP %d %s", i, c.Code, c.Raw)
				}
			}
			if ok != 1 {
				t.Fatalf("%d of %d concurrent changes from one read succeeded, want exactly 1", ok, n)
			}
			// the old etag stays refused, in either place
			s.Do(t, "PATCH", r.change, manager, r.body(99), "If-Match", etag).Error(t, http.StatusConflict, "ABORTED")
		})
	}
}
