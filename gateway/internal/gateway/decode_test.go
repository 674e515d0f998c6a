package gateway_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

// A body the contract refuses is explained in its words: the field by its
// snake_case path, what it must be, an enum's allowed values.
func TestDecodingErrorsSpeakTheContract(t *testing.T) {
	srv := startGateway(t, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	tok := mint(t, identity.Identity{Subject: "agent_7", Role: identity.RoleAgent, Rank: identity.RankSupervisor,
		Group: identity.GroupAfterSale, ShopID: "shop_1"}, time.Hour)
	for _, c := range []struct {
		path, body, field, rule string
		says                    []string
	}{
		{"/v1/faqs?request_id=req_12345678", `{"question":"能开发票吗","answer":"可以","topic":"NOPE"}`, "topic", "json.enum",
			[]string{`"NOPE" is not one of`, "FAQ_TOPIC_PAYMENT_INVOICE"}},
		{"/v1/faqs?request_id=req_12345678", `{"question":5}`, "question", "json.string", []string{"5 is not a valid string"}},
		{"/v1/products?request_id=req_12345678", `{"name":"x","priceFen":"abc"}`, "price_fen", "json.int64",
			[]string{"JSON strings of digits"}},
		{"/v1/faqs?request_id=req_12345678", `{"questionX":"q"}`, "questionX", "json.unknown_field", []string{"not a field of Faq"}},
		{"/v1/faqs?request_id=req_12345678", `{"question":`, "body", "json.syntax", []string{"not valid JSON"}},
		// query parameters alike
		{"/v1/faqs?topic=NOPE", "", "topic", "query.enum", []string{`"NOPE" is not one of`, "FAQ_TOPIC_LOGISTICS"}},
		{"/v1/faqs?page_size=abc", "", "page_size", "query.number", []string{`"abc" is not a number`}},
	} {
		method := "POST"
		if c.body == "" {
			method = "GET"
		}
		r := call(t, method, srv.URL+c.path, tok, c.body)
		e := errorOf(t, r, 400, "INVALID_ARGUMENT")
		fv, _ := e["field_violations"].([]any)
		if len(fv) != 1 {
			t.Fatalf("%s: violations %v", c.body, e)
		}
		v := fv[0].(map[string]any)
		if v["field"] != c.field || v["rule"] != c.rule {
			t.Errorf("%s: violation %v, want field %s rule %s", c.body, v, c.field, c.rule)
		}
		for _, s := range c.says {
			if !strings.Contains(v["description"].(string), s) || !strings.Contains(e["message"].(string), s) {
				t.Errorf("%s: %q / %q does not say %q", c.body, v["description"], e["message"], s)
			}
		}
		if strings.Contains(e["message"].(string), "proto:") || strings.Contains(e["message"].(string), "priceFen") {
			t.Errorf("%s: the decoder's words reached the client: %s", c.body, e["message"])
		}
	}
}
