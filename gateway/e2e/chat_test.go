package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

// A pre-sale chat through REST: the agent goes online and watches the live
// feed (a server stream over HTTP, one JSON object per line), the buyer's
// session is routed to them and the buyer's question reaches the feed, a
// forbidden reply is refused and never delivered, a proper one is.
func TestChatThroughREST(t *testing.T) {
	s := StartStack(t)
	buyer := Token(t, identity.Identity{Subject: "buyer_chat", Role: identity.RoleBuyer})
	agent := Token(t, identity.Identity{Subject: "agent_chat", Role: identity.RoleAgent, Rank: identity.RankAgent,
		Group: identity.GroupPreSale, ShopID: "shop_demo"})

	s.Do(t, "PUT", "/v1/agents/agent_chat/availability", agent, map[string]any{
		"status": "AGENT_STATUS_ONLINE", "max_concurrent_sessions": 5}).OK(t, "online")

	// The live feed, read line by line while the chat goes on.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/v1/agents/agent_chat/feed", nil)
	req.Header.Set("Authorization", "Bearer "+agent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("feed: HTTP %d", resp.StatusCode)
	}
	posted := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil {
				if text := Str(line, "result", "event", "message_posted", "text"); text != "" {
					posted <- text
				}
			}
		}
	}()

	opened := s.Do(t, "POST", "/v1/sessions", buyer, map[string]any{
		"shop_id": "shop_demo", "topic": "SESSION_TOPIC_PRODUCT_INQUIRY", "subject": "羽绒服尺码咨询", "product_id": "prd_seed01",
	}, "Idempotency-Key", "e2e-chat-0001").OK(t, "open session")
	session := Str(opened, "session", "session_id")
	if session == "" || Str(opened, "session", "assigned_agent_id") != "agent_chat" {
		t.Fatalf("the session must be routed to the only online pre-sale agent: %v", opened)
	}
	s.Do(t, "POST", "/v1/sessions/"+session+"/messages", buyer, map[string]any{"text": "你好，175穿什么码？"},
		"Idempotency-Key", "e2e-chat-msg-0001").OK(t, "buyer asks")
	deadline := time.After(10 * time.Second)
	for got := false; !got; {
		select {
		case text := <-posted:
			got = text == "你好，175穿什么码？"
		case <-deadline:
			t.Fatal("the buyer's question did not reach the agent's live feed within 10 s")
		}
	}

	refused := s.Do(t, "POST", "/v1/sessions/"+session+"/messages", agent, map[string]any{"text": "没有，自己看尺码表"},
		"Idempotency-Key", "e2e-chat-msg-0002").OK(t, "forbidden reply")
	if Str(refused, "outcome") != "SEND_OUTCOME_REFUSED_FORBIDDEN" || Str(refused, "message", "message_id") != "" {
		t.Fatalf("a forbidden reply must be refused and not stored: %v", refused)
	}
	s.Do(t, "POST", "/v1/sessions/"+session+"/messages", agent, map[string]any{"text": "亲，175建议拍L码哦"},
		"Idempotency-Key", "e2e-chat-msg-0003").OK(t, "proper reply")
	msgs := s.Do(t, "GET", "/v1/sessions/"+session+"/messages", buyer, nil).OK(t, "list messages")
	all, _ := json.Marshal(msgs)
	if strings.Contains(string(all), "自己看尺码表") || !strings.Contains(string(all), "175建议拍L码") {
		t.Fatalf("the buyer sees the proper reply and never the refused one: %s", all)
	}
}
