// Command kefu-demo gives the demo shop a day of activity through the REST
// gateway, as its buyers and staff would make it: agents go online, buyers
// open chats that agents answer (two leave before anyone does), rate them,
// order, pay; an agent ships; a buyer returns a received parcel; a buyer
// complains. It is the live half of `make seed-demo` (the month before it
// is projected into insights by `insights demo-history`).
//
//	kefu-demo [-url http://127.0.0.1:8080] [-shop shop_demo]
//
// Tokens are minted with JWT_HS256_SECRET (make run's dev secret). Every
// create carries an Idempotency-Key made of the day and the step, so a
// second run on the same day adds nothing.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/kefu-suite/kefu/gateway/internal/gateway"
	"github.com/kefu-suite/kefu/gateway/internal/jsonpath"
	"github.com/kefu-suite/kefu/services/platform/config"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kefu-demo:", err)
		os.Exit(1)
	}
}

type client struct {
	base   string
	http   *http.Client
	day    string
	failed int
}

// call sends one request and returns the decoded body; a refusal is
// reported and counted (the demo goes on with what it can do).
func (c *client) call(what, method, path, token string, body any, key string) map[string]any {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			panic(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		panic(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", "demo-"+c.day+"-"+key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.failed++
		fmt.Printf("  ✗ %s: %v\n", what, err)
		return nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if resp.StatusCode == http.StatusConflict && key == "" {
		// A step without a key of its own (answer, close, rate, pay, ship)
		// that a run earlier today already took: nothing to do.
		fmt.Printf("  · %s: already done (%s)\n", what, jsonpath.Str(out, "error", "message"))
		return nil
	}
	if resp.StatusCode >= 300 {
		c.failed++
		fmt.Printf("  ✗ %s: HTTP %d %s\n", what, resp.StatusCode, jsonpath.Str(out, "error", "message"))
		return nil
	}
	return out
}

func run(args []string) error {
	fs := flag.NewFlagSet("kefu-demo", flag.ContinueOnError)
	base := fs.String("url", "http://127.0.0.1:8080", "the gateway")
	shop := fs.String("shop", "shop_demo", "the shop")
	if err := fs.Parse(args); err != nil {
		return err
	}
	l := config.FromOS()
	secret := l.Required("JWT_HS256_SECRET")
	issuer, audience := l.String("JWT_ISSUER", ""), l.String("JWT_AUDIENCE", "")
	if err := l.Err(); err != nil {
		return err
	}
	now := time.Now()
	mint := func(id identity.Identity) string {
		tok, err := gateway.MintHS256([]byte(secret), id, issuer, audience, time.Hour, now)
		if err != nil {
			panic(err)
		}
		return tok
	}
	agent := func(sub string, g identity.Group) string {
		return mint(identity.Identity{Subject: sub, Role: identity.RoleAgent, Rank: identity.RankAgent, Group: g, ShopID: *shop})
	}
	buyer := func(n int) (string, string) {
		id := fmt.Sprintf("buyer_today%02d", n)
		return id, mint(identity.Identity{Subject: id, Role: identity.RoleBuyer})
	}
	c := &client{base: *base, http: &http.Client{Timeout: 30 * time.Second}, day: now.Format("20060102")}
	if resp, err := c.http.Get(c.base + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the gateway at %s is not ready (start it with make run): %v", c.base, err)
	}

	fmt.Println("agents go online")
	staff := map[string]string{
		"agent_li": agent("agent_li", identity.GroupPreSale), "agent_wang": agent("agent_wang", identity.GroupPreSale),
		"agent_chen": agent("agent_chen", identity.GroupAfterSale),
	}
	for id, tok := range staff {
		c.call("online "+id, "PUT", "/v1/agents/"+id+"/availability", tok,
			map[string]any{"status": "AGENT_STATUS_ONLINE", "max_concurrent_sessions": 8}, "")
	}

	fmt.Println("buyers chat; agents answer; buyers rate")
	scores := []int{5, 5, 4, 5, 3, 5, 4, 5, 5, 2}
	chats := 0
	for n := 1; n <= 12; n++ {
		_, btok := buyer(n)
		opened := c.call(fmt.Sprintf("chat %d", n), "POST", "/v1/sessions", btok, map[string]any{"shop_id": *shop,
			"topic": "SESSION_TOPIC_PRODUCT_INQUIRY", "subject": "保温杯咨询", "product_id": "prd_seed01"}, fmt.Sprintf("chat-%02d", n))
		ses := jsonpath.Str(opened, "session", "session_id")
		if ses == "" {
			continue
		}
		chats++
		if n%6 != 0 { // two buyers leave before an answer
			if tok, ok := staff[jsonpath.Str(opened, "session", "assigned_agent_id")]; ok {
				c.call("answer", "POST", "/v1/sessions/"+ses+"/messages", tok,
					map[string]any{"text": "亲，在的，这款保温杯 12 小时保温，今天下单明天发货哦～"}, fmt.Sprintf("answer-%02d", n))
			}
		}
		c.call("close", "POST", "/v1/sessions/"+ses+":close", btok, map[string]any{"reason": "CLOSE_REASON_RESOLVED"}, "")
		if n%6 != 0 && n <= len(scores) {
			c.call("rate", "POST", "/v1/sessions/"+ses+":rate", btok, map[string]any{"score": scores[n-1]}, "")
		}
	}

	fmt.Println("four buyers order, three pay, two parcels ship, one comes back")
	address := map[string]any{"province": "浙江省", "city": "杭州市", "district": "西湖区",
		"street": "文三路 398 号 5 幢 302 室", "contact_name": "李雷", "contact_phone": "13800138000"}
	orders := 0
	for n := 1; n <= 4; n++ {
		_, btok := buyer(n)
		placed := c.call(fmt.Sprintf("order %d", n), "POST", "/v1/orders", btok, map[string]any{"shop_id": *shop,
			"kind": "ORDER_KIND_NORMAL", "address": address,
			"lines": []any{map[string]any{"product_id": "prd_seed01", "sku_id": "sku_seed01blkL", "quantity": n%2 + 1}}},
			fmt.Sprintf("order-%02d", n))
		id := jsonpath.Str(placed, "order", "order_id")
		if id == "" {
			continue
		}
		orders++
		if n == 4 {
			continue // still awaiting payment
		}
		c.call("pay", "POST", "/v1/orders/"+id+":pay", btok, map[string]any{
			"payment_ref": fmt.Sprintf("alipay-demo-%s-%02d", c.day, n), "amount_fen": jsonpath.Str(placed, "order", "price", "total_fen")}, "")
		if n > 2 {
			continue
		}
		c.call("ship", "POST", "/v1/orders/"+id+":ship", staff["agent_li"], map[string]any{"shipment": map[string]any{
			"carrier": "顺丰速运", "tracking_number": fmt.Sprintf("SF%s%05d", c.day, n), "method": "SHIPPING_METHOD_EXPRESS"}}, "")
		if n == 1 {
			c.call("confirm receipt", "POST", "/v1/orders/"+id+":confirmReceipt", btok, map[string]any{}, "")
			c.call("return", "POST", "/v1/cases", btok, map[string]any{
				"order_id": id, "type": "CASE_TYPE_RETURN_REFUND", "reason": "CASE_REASON_SEVEN_DAY_NO_REASON",
				"lines": []any{map[string]any{"order_line_id": jsonpath.Str(placed, "order", "lines", 0, "line_id"),
					"quantity": jsonpath.Get(placed, "order", "lines", 0, "quantity")}},
				"requested_amount_fen": jsonpath.Str(placed, "order", "price", "total_fen"), "refund_channel": "REFUND_CHANNEL_ORIGINAL_PATH",
			}, "case-01")
		}
	}

	fmt.Println("a buyer complains about a slow answer")
	c.call("complaint", "POST", "/v1/complaints", staff["agent_chen"], map[string]any{
		"customer_ids": []string{"buyer_today06"}, "category": "COMPLAINT_CATEGORY_SERVICE_ATTITUDE",
		"channel": "COMPLAINT_CHANNEL_CHAT", "content": "等了很久没人回复", "customer_demand": "道歉",
	}, "complaint-01")

	fmt.Printf("today: %d chats, %d orders through %s; the reports: %s/dashboards/kpi\n", chats, orders, c.base, c.base)
	if c.failed > 0 {
		return errors.New(fmt.Sprint(c.failed, " requests were refused (see above)"))
	}
	return nil
}
