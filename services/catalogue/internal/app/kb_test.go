package app_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	"github.com/kefu-suite/kefu/services/catalogue/internal/app"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

// kbUnderTest is the real service on a fresh, migrated database.
func kbUnderTest(t *testing.T) *app.Service {
	t.Helper()
	return catalogueUnderTest(t)
}

var (
	kbAgent     = identity.With(context.Background(), identity.Identity{Subject: "a1", Role: identity.RoleAgent, Rank: identity.RankAgent, Group: identity.GroupPreSale, ShopID: "shop_1"})
	kbOtherShop = identity.With(context.Background(), identity.Identity{Subject: "a9", Role: identity.RoleAgent, Rank: identity.RankManager, Group: identity.GroupPreSale, ShopID: "shop_2"})
	kbBuyer     = identity.With(context.Background(), identity.Identity{Subject: "b1", Role: identity.RoleBuyer})
	kbSeed      = identity.With(context.Background(), identity.Identity{Subject: "catalogue-seed", Role: identity.RoleService})
	kbAnonymous = context.Background()
	kbRequests  atomic.Int64
)

func kbRequestID() string {
	return fmt.Sprintf("kb-req-%d-%d", time.Now().UnixNano(), kbRequests.Add(1))
}

func newFaq(t *testing.T, svc *app.Service, ctx context.Context, f *cataloguev1.Faq) *cataloguev1.Faq {
	t.Helper()
	resp, err := svc.CreateFaq(ctx, &cataloguev1.CreateFaqRequest{RequestId: kbRequestID(), Faq: f})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetFaq()
}

func newQuickReply(t *testing.T, svc *app.Service, qr *cataloguev1.QuickReply) *cataloguev1.QuickReply {
	t.Helper()
	resp, err := svc.CreateQuickReply(kbAgent, &cataloguev1.CreateQuickReplyRequest{RequestId: kbRequestID(), QuickReply: qr})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetQuickReply()
}

func faqIDs(ms []*cataloguev1.FaqMatch) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.GetFaq().GetFaqId()
	}
	return ids
}

func TestFaqCreateIdempotentAndWhoMayWrite(t *testing.T) {
	t.Parallel()
	svc := kbUnderTest(t)
	faq := &cataloguev1.Faq{Question: "商品是正品吗？", Answer: "本店所有商品均为品牌正品，支持专柜验货。",
		Keywords: []string{"正品", "假货"}, Topic: cataloguev1.FaqTopic_FAQ_TOPIC_PRODUCT, BotAnswerable: true}

	req := &cataloguev1.CreateFaqRequest{RequestId: "faq-create-once", Faq: faq}
	a, err := svc.CreateFaq(kbAgent, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.CreateFaq(kbAgent, req)
	if err != nil {
		t.Fatal(err)
	}
	if a.GetFaq().GetFaqId() != b.GetFaq().GetFaqId() {
		t.Fatalf("retry created a second FAQ: %s vs %s", a.GetFaq().GetFaqId(), b.GetFaq().GetFaqId())
	}
	got := a.GetFaq()
	if got.GetShopId() != "shop_1" || got.GetEtag() == "" || got.GetCreatedAt() == nil || got.GetQuestion() != faq.GetQuestion() ||
		len(got.GetKeywords()) != 2 || !got.GetBotAnswerable() {
		t.Fatalf("created %+v", got)
	}

	// Reads are public: a buyer and an anonymous reader get it.
	for name, ctx := range map[string]context.Context{"buyer": kbBuyer, "anonymous": kbAnonymous} {
		g, err := svc.GetFaq(ctx, &cataloguev1.GetFaqRequest{FaqId: got.GetFaqId()})
		if err != nil || g.GetFaq().GetAnswer() != faq.GetAnswer() {
			t.Fatalf("%s get: %v %+v", name, err, g)
		}
	}

	if _, err := svc.CreateFaq(kbBuyer, &cataloguev1.CreateFaqRequest{RequestId: "faq-buyer-1", Faq: faq}); !errors.Is(err, errs.ErrPermissionDenied) {
		t.Fatalf("buyer create: %v", err)
	}
	if _, err := svc.CreateFaq(kbAnonymous, &cataloguev1.CreateFaqRequest{RequestId: "faq-anon-1", Faq: faq}); !errors.Is(err, errs.ErrUnauthenticated) {
		t.Fatalf("anonymous create: %v", err)
	}
	elsewhere := &cataloguev1.Faq{ShopId: "shop_2", Question: "能开发票吗？", Answer: "可以。", Topic: cataloguev1.FaqTopic_FAQ_TOPIC_PAYMENT_INVOICE}
	if _, err := svc.CreateFaq(kbAgent, &cataloguev1.CreateFaqRequest{RequestId: "faq-elsewhere", Faq: elsewhere}); !errors.Is(err, errs.ErrPermissionDenied) {
		t.Fatalf("agent writing for another shop: %v", err)
	}

	// A service (the seed import) names the shop and may keep its stable id.
	seeded := &cataloguev1.Faq{FaqId: "faq_seed01", ShopId: "shop_1", Question: "能开发票吗？", Answer: "可以开具电子发票。",
		Topic: cataloguev1.FaqTopic_FAQ_TOPIC_PAYMENT_INVOICE}
	for range 2 {
		s, err := svc.CreateFaq(kbSeed, &cataloguev1.CreateFaqRequest{RequestId: "seed-faq_seed01", Faq: seeded})
		if err != nil || s.GetFaq().GetFaqId() != "faq_seed01" || s.GetFaq().GetShopId() != "shop_1" {
			t.Fatalf("seed create: %v %+v", err, s)
		}
	}
	noShop := &cataloguev1.Faq{Question: "能开发票吗？", Answer: "可以。", Topic: cataloguev1.FaqTopic_FAQ_TOPIC_PAYMENT_INVOICE}
	if _, err := svc.CreateFaq(kbSeed, &cataloguev1.CreateFaqRequest{RequestId: "seed-noshop", Faq: noShop}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("service without shop: %v", err)
	}
}

func TestFaqSearchChineseRanksBestFirst(t *testing.T) {
	t.Parallel()
	svc := kbUnderTest(t)
	apparel := cataloguev1.CategoryCode_CATEGORY_CODE_APPAREL
	sizing := newFaq(t, svc, kbAgent, &cataloguev1.Faq{Question: "衣服尺码怎么选？", Answer: "请参考商品详情页的尺码表，按身高体重选择。",
		Keywords: []string{"大小", "偏大"}, Topic: cataloguev1.FaqTopic_FAQ_TOPIC_PRODUCT, Category: apparel, BotAnswerable: true})
	strap := newFaq(t, svc, kbAgent, &cataloguev1.Faq{Question: "手表表带尺码可以调吗？", Answer: "表带可拆节调节长度。",
		Topic: cataloguev1.FaqTopic_FAQ_TOPIC_PRODUCT, Category: cataloguev1.CategoryCode_CATEGORY_CODE_DIGITAL, BotAnswerable: true})
	exchange := newFaq(t, svc, kbAgent, &cataloguev1.Faq{Question: "收到的衣服不合身可以换吗？", Answer: "支持7天无理由退换，尺码不合适可以换货。",
		Topic: cataloguev1.FaqTopic_FAQ_TOPIC_AFTER_SALE})
	shipping := newFaq(t, svc, kbAgent, &cataloguev1.Faq{Question: "下单后多久发货？", Answer: "付款后48小时内发货。",
		Keywords: []string{"发货", "物流"}, Topic: cataloguev1.FaqTopic_FAQ_TOPIC_LOGISTICS, BotAnswerable: true})
	english := newFaq(t, svc, kbAgent, &cataloguev1.Faq{Question: "How long does shipping take?", Answer: "Parcels leave within 48 hours.",
		Topic: cataloguev1.FaqTopic_FAQ_TOPIC_LOGISTICS})
	newFaq(t, svc, kbOtherShop, &cataloguev1.Faq{Question: "尺码偏小吗？", Answer: "正常尺码。", Topic: cataloguev1.FaqTopic_FAQ_TOPIC_PRODUCT})

	search := func(ctx context.Context, r *cataloguev1.SearchFaqsRequest) []*cataloguev1.FaqMatch {
		t.Helper()
		resp, err := svc.SearchFaqs(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetMatches()
	}

	// "尺码" inside longer questions: both question hits first, then the FAQ
	// that has it only in its answer; nothing from the other shop or about shipping.
	ms := search(kbBuyer, &cataloguev1.SearchFaqsRequest{Query: "尺码", ShopId: "shop_1"})
	ids := faqIDs(ms)
	if len(ids) != 3 || ids[2] != exchange.GetFaqId() ||
		!(ids[0] == sizing.GetFaqId() && ids[1] == strap.GetFaqId() || ids[0] == strap.GetFaqId() && ids[1] == sizing.GetFaqId()) {
		t.Fatalf("尺码: %v (sizing %s, strap %s, exchange %s)", ids, sizing.GetFaqId(), strap.GetFaqId(), exchange.GetFaqId())
	}
	for i, m := range ms {
		if m.GetScore() <= 0 || m.GetScore() > 1 || (i > 0 && m.GetScore() > ms[i-1].GetScore()) {
			t.Fatalf("scores not in 0–1 or not best first: %v", ms)
		}
	}
	if ms[0].GetScore() < 0.5 || ms[2].GetScore() >= 0.5 {
		t.Fatalf("question hits score ≥ 0.5, answer-only hits below: %v", ms)
	}

	// The buyer's whole question, typed with other punctuation.
	ms = search(kbBuyer, &cataloguev1.SearchFaqsRequest{Query: "衣服尺码怎么选?", ShopId: "shop_1"})
	if len(ms) == 0 || ms[0].GetFaq().GetFaqId() != sizing.GetFaqId() {
		t.Fatalf("衣服尺码怎么选?: %v", faqIDs(ms))
	}
	ms = search(kbBuyer, &cataloguev1.SearchFaqsRequest{Query: "多久发货", ShopId: "shop_1"})
	if len(ms) != 1 || ms[0].GetFaq().GetFaqId() != shipping.GetFaqId() {
		t.Fatalf("多久发货: %v", faqIDs(ms))
	}

	// Filters: category (plus FAQs about every category), topic, bot-answerable.
	ms = search(kbBuyer, &cataloguev1.SearchFaqsRequest{Query: "尺码", ShopId: "shop_1", Category: apparel})
	if ids := faqIDs(ms); len(ids) != 2 || ids[0] != sizing.GetFaqId() || ids[1] != exchange.GetFaqId() {
		t.Fatalf("尺码 in apparel: %v", ids)
	}
	ms = search(kbBuyer, &cataloguev1.SearchFaqsRequest{Query: "尺码", ShopId: "shop_1", Topic: cataloguev1.FaqTopic_FAQ_TOPIC_AFTER_SALE})
	if ids := faqIDs(ms); len(ids) != 1 || ids[0] != exchange.GetFaqId() {
		t.Fatalf("尺码 in after-sale: %v", ids)
	}
	ms = search(kbBuyer, &cataloguev1.SearchFaqsRequest{Query: "尺码", ShopId: "shop_1", BotAnswerableOnly: true})
	if len(ms) != 2 {
		t.Fatalf("尺码 bot-answerable: %v", faqIDs(ms))
	}
	ms = search(kbBuyer, &cataloguev1.SearchFaqsRequest{Query: "尺码", ShopId: "shop_1", PageSize: 1})
	if len(ms) != 1 {
		t.Fatalf("page_size 1: %v", faqIDs(ms))
	}

	// Fuzzy: a typo that is no substring of anything still finds the FAQ.
	ms = search(kbAnonymous, &cataloguev1.SearchFaqsRequest{Query: "shiping", ShopId: "shop_1"})
	if len(ms) != 1 || ms[0].GetFaq().GetFaqId() != english.GetFaqId() || ms[0].GetScore() <= 0 || ms[0].GetScore() > 0.5 {
		t.Fatalf("shiping: %v", ms)
	}

	// Agents default to their own shop; everyone else must name one.
	if ms := search(kbOtherShop, &cataloguev1.SearchFaqsRequest{Query: "尺码"}); len(ms) != 1 {
		t.Fatalf("other shop's agent, own shop: %v", faqIDs(ms))
	}
	if _, err := svc.SearchFaqs(kbBuyer, &cataloguev1.SearchFaqsRequest{Query: "尺码"}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("buyer without shop: %v", err)
	}
	if ms := search(kbBuyer, &cataloguev1.SearchFaqsRequest{Query: "？！", ShopId: "shop_1"}); len(ms) != 0 {
		t.Fatalf("punctuation only: %v", faqIDs(ms))
	}
}

func TestFaqUpdateETagDeleteAndOtherShops(t *testing.T) {
	t.Parallel()
	svc := kbUnderTest(t)
	f := newFaq(t, svc, kbAgent, &cataloguev1.Faq{Question: "可以货到付款吗？", Answer: "部分商品支持。",
		Topic: cataloguev1.FaqTopic_FAQ_TOPIC_PAYMENT_INVOICE})

	mask := &fieldmaskpb.FieldMask{Paths: []string{"answer", "keywords", "bot_answerable"}}
	patch := &cataloguev1.Faq{FaqId: f.GetFaqId(), Question: "ignored, not in the mask", Answer: "标有“货到付款”的商品支持，需加收手续费。",
		Keywords: []string{"COD", "到付"}, BotAnswerable: true}
	up, err := svc.UpdateFaq(kbAgent, &cataloguev1.UpdateFaqRequest{Faq: patch, UpdateMask: mask, Etag: f.GetEtag()})
	if err != nil {
		t.Fatal(err)
	}
	u := up.GetFaq()
	if u.GetQuestion() != f.GetQuestion() || u.GetAnswer() != patch.GetAnswer() || !u.GetBotAnswerable() || u.GetEtag() == f.GetEtag() ||
		!u.GetCreatedAt().AsTime().Equal(f.GetCreatedAt().AsTime()) || u.GetShopId() != "shop_1" {
		t.Fatalf("updated %+v", u)
	}
	// The search text follows the update (keywords are searchable).
	if resp, err := svc.SearchFaqs(kbBuyer, &cataloguev1.SearchFaqsRequest{Query: "到付", ShopId: "shop_1"}); err != nil || len(resp.GetMatches()) != 1 {
		t.Fatalf("search new keyword: %v %v", err, resp)
	}

	if _, err := svc.UpdateFaq(kbAgent, &cataloguev1.UpdateFaqRequest{Faq: patch, UpdateMask: mask, Etag: f.GetEtag()}); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("stale etag: %v", err)
	}
	clear := &cataloguev1.UpdateFaqRequest{Faq: &cataloguev1.Faq{FaqId: f.GetFaqId()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"question"}}}
	if _, err := svc.UpdateFaq(kbAgent, clear); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("clearing the question: %v", err)
	}
	if _, err := svc.UpdateFaq(kbOtherShop, &cataloguev1.UpdateFaqRequest{Faq: patch, UpdateMask: mask}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("other shop's agent update: %v", err)
	}
	if _, err := svc.UpdateFaq(kbBuyer, &cataloguev1.UpdateFaqRequest{Faq: patch, UpdateMask: mask}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("buyer update: %v", err)
	}
	if _, err := svc.DeleteFaq(kbOtherShop, &cataloguev1.DeleteFaqRequest{FaqId: f.GetFaqId()}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("other shop's agent delete: %v", err)
	}
	if _, err := svc.DeleteFaq(kbAgent, &cataloguev1.DeleteFaqRequest{FaqId: f.GetFaqId(), Etag: f.GetEtag()}); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("delete with stale etag: %v", err)
	}
	if _, err := svc.DeleteFaq(kbAgent, &cataloguev1.DeleteFaqRequest{FaqId: f.GetFaqId(), Etag: u.GetEtag()}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetFaq(kbBuyer, &cataloguev1.GetFaqRequest{FaqId: f.GetFaqId()}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if _, err := svc.DeleteFaq(kbAgent, &cataloguev1.DeleteFaqRequest{FaqId: f.GetFaqId()}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	if _, err := svc.UpdateFaq(kbAgent, &cataloguev1.UpdateFaqRequest{Faq: patch, UpdateMask: mask}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("update after delete: %v", err)
	}
}

func TestFaqListPagesByTopicEveryRowOnce(t *testing.T) {
	t.Parallel()
	svc := kbUnderTest(t)
	topics := []cataloguev1.FaqTopic{
		cataloguev1.FaqTopic_FAQ_TOPIC_OTHER, cataloguev1.FaqTopic_FAQ_TOPIC_PRODUCT, cataloguev1.FaqTopic_FAQ_TOPIC_LOGISTICS,
		cataloguev1.FaqTopic_FAQ_TOPIC_PRODUCT, cataloguev1.FaqTopic_FAQ_TOPIC_AFTER_SALE,
	}
	want := map[string]bool{}
	for i, topic := range topics {
		f := newFaq(t, svc, kbAgent, &cataloguev1.Faq{Question: fmt.Sprintf("问题%d？", i), Answer: "答案", Topic: topic})
		want[f.GetFaqId()] = true
	}
	newFaq(t, svc, kbOtherShop, &cataloguev1.Faq{Question: "别家的问题？", Answer: "答案", Topic: cataloguev1.FaqTopic_FAQ_TOPIC_PRODUCT})

	seen := map[string]int{}
	var lastTopic cataloguev1.FaqTopic
	token, pages := "", 0
	for {
		resp, err := svc.ListFaqs(kbBuyer, &cataloguev1.ListFaqsRequest{ShopId: "shop_1", PageSize: 3, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, f := range resp.GetFaqs() {
			seen[f.GetFaqId()]++
			if f.GetTopic() < lastTopic {
				t.Fatalf("not by topic: %v after %v", f.GetTopic(), lastTopic)
			}
			lastTopic = f.GetTopic()
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
		if pages > 3 {
			t.Fatal("pagination does not end")
		}
		// The token is bound to its query.
		if _, err := svc.ListFaqs(kbBuyer, &cataloguev1.ListFaqsRequest{ShopId: "shop_1", Topic: cataloguev1.FaqTopic_FAQ_TOPIC_PRODUCT, PageToken: token}); !errors.Is(err, errs.ErrInvalid) {
			t.Fatalf("token of another query: %v", err)
		}
	}
	if pages != 2 || len(seen) != len(want) {
		t.Fatalf("pages %d, seen %v, want %v", pages, seen, want)
	}
	for id, n := range seen {
		if !want[id] || n != 1 {
			t.Fatalf("row %s seen %d times (want %v)", id, n, want[id])
		}
	}

	// Agents default to their own shop; a buyer must name one.
	if resp, err := svc.ListFaqs(kbAgent, &cataloguev1.ListFaqsRequest{Topic: cataloguev1.FaqTopic_FAQ_TOPIC_PRODUCT}); err != nil || len(resp.GetFaqs()) != 2 {
		t.Fatalf("agent, own shop, product topic: %v %v", err, resp)
	}
	if _, err := svc.ListFaqs(kbBuyer, &cataloguev1.ListFaqsRequest{}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("buyer without shop: %v", err)
	}
	if _, err := svc.ListFaqs(kbBuyer, &cataloguev1.ListFaqsRequest{ShopId: "shop_1", PageToken: "garbage"}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("forged token: %v", err)
	}
}

func TestQuickRepliesByGroupAndKindAgentsOnly(t *testing.T) {
	t.Parallel()
	svc := kbUnderTest(t)
	var (
		every     = commonv1.AgentGroup_AGENT_GROUP_UNSPECIFIED
		preSale   = commonv1.AgentGroup_AGENT_GROUP_PRE_SALE
		afterSale = commonv1.AgentGroup_AGENT_GROUP_AFTER_SALE
		greeting  = cataloguev1.QuickReplyKind_QUICK_REPLY_KIND_GREETING
		farewell  = cataloguev1.QuickReplyKind_QUICK_REPLY_KIND_FAREWELL
		apology   = cataloguev1.QuickReplyKind_QUICK_REPLY_KIND_APOLOGY
	)
	req := &cataloguev1.CreateQuickReplyRequest{RequestId: "qr-create-once", QuickReply: &cataloguev1.QuickReply{
		Group: every, Kind: greeting, Title: "欢迎语", Text: "您好，欢迎光临！", Shortcut: "/hi", SortOrder: 20}}
	a, err := svc.CreateQuickReply(kbAgent, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.CreateQuickReply(kbAgent, req)
	if err != nil || b.GetQuickReply().GetQuickReplyId() != a.GetQuickReply().GetQuickReplyId() {
		t.Fatalf("retry: %v %v vs %v", err, b, a)
	}
	hello := a.GetQuickReply()
	if hello.GetShopId() != "shop_1" || hello.GetEtag() == "" || hello.GetShortcut() != "/hi" {
		t.Fatalf("created %+v", hello)
	}
	preHello := newQuickReply(t, svc, &cataloguev1.QuickReply{Group: preSale, Kind: greeting, Title: "售前欢迎", Text: "亲，在的，请问看中哪款了？", SortOrder: 10})
	bye := newQuickReply(t, svc, &cataloguev1.QuickReply{Group: every, Kind: farewell, Title: "结束语", Text: "感谢您的咨询，祝您生活愉快！"})
	sorry := newQuickReply(t, svc, &cataloguev1.QuickReply{Group: afterSale, Kind: apology, Title: "致歉", Text: "非常抱歉给您带来不便。"})
	preSorry := newQuickReply(t, svc, &cataloguev1.QuickReply{Group: preSale, Kind: apology, Title: "缺货致歉", Text: "抱歉，该颜色暂时缺货。", SortOrder: 3})

	list := func(ctx context.Context, r *cataloguev1.ListQuickRepliesRequest) []string {
		t.Helper()
		resp, err := svc.ListQuickReplies(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, q := range resp.GetQuickReplies() {
			ids = append(ids, q.GetQuickReplyId())
		}
		return ids
	}
	same := func(got []string, want ...*cataloguev1.QuickReply) bool {
		if len(got) != len(want) {
			return false
		}
		for i, w := range want {
			if got[i] != w.GetQuickReplyId() {
				return false
			}
		}
		return true
	}
	// Pre-sale: its own plus every group's, by kind then sort_order.
	if got := list(kbAgent, &cataloguev1.ListQuickRepliesRequest{Group: preSale}); !same(got, preHello, hello, bye, preSorry) {
		t.Fatalf("pre-sale: %v", got)
	}
	if got := list(kbAgent, &cataloguev1.ListQuickRepliesRequest{Group: afterSale, Kind: apology}); !same(got, sorry) {
		t.Fatalf("after-sale apologies: %v", got)
	}
	if got := list(kbAgent, &cataloguev1.ListQuickRepliesRequest{Kind: greeting}); !same(got, preHello, hello) {
		t.Fatalf("greetings: %v", got)
	}
	if got := list(kbOtherShop, &cataloguev1.ListQuickRepliesRequest{}); len(got) != 0 {
		t.Fatalf("another shop's agent sees %v", got)
	}

	// Two pages of 3 over the five replies: every row once.
	seen := map[string]int{}
	token, pages := "", 0
	for {
		resp, err := svc.ListQuickReplies(kbAgent, &cataloguev1.ListQuickRepliesRequest{PageSize: 3, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, q := range resp.GetQuickReplies() {
			seen[q.GetQuickReplyId()]++
		}
		if token = resp.GetNextPageToken(); token == "" || pages > 3 {
			break
		}
	}
	if pages != 2 || len(seen) != 5 {
		t.Fatalf("pages %d, seen %v", pages, seen)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s seen %d times", id, n)
		}
	}

	// Agents only.
	if _, err := svc.ListQuickReplies(kbBuyer, &cataloguev1.ListQuickRepliesRequest{}); !errors.Is(err, errs.ErrPermissionDenied) {
		t.Fatalf("buyer list: %v", err)
	}
	if _, err := svc.ListQuickReplies(kbAnonymous, &cataloguev1.ListQuickRepliesRequest{}); !errors.Is(err, errs.ErrUnauthenticated) {
		t.Fatalf("anonymous list: %v", err)
	}
	if _, err := svc.GetQuickReply(kbBuyer, &cataloguev1.GetQuickReplyRequest{QuickReplyId: hello.GetQuickReplyId()}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("buyer get: %v", err)
	}
	if _, err := svc.GetQuickReply(kbOtherShop, &cataloguev1.GetQuickReplyRequest{QuickReplyId: hello.GetQuickReplyId()}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("other shop's agent get: %v", err)
	}
	if _, err := svc.CreateQuickReply(kbBuyer, &cataloguev1.CreateQuickReplyRequest{RequestId: "qr-buyer-1", QuickReply: req.GetQuickReply()}); !errors.Is(err, errs.ErrPermissionDenied) {
		t.Fatalf("buyer create: %v", err)
	}
	if g, err := svc.GetQuickReply(kbAgent, &cataloguev1.GetQuickReplyRequest{QuickReplyId: hello.GetQuickReplyId()}); err != nil || g.GetQuickReply().GetText() != "您好，欢迎光临！" {
		t.Fatalf("agent get: %v %v", err, g)
	}

	// Update with a mask: moving the shared greeting before the pre-sale one.
	mask := &fieldmaskpb.FieldMask{Paths: []string{"sort_order", "text"}}
	patch := &cataloguev1.QuickReply{QuickReplyId: hello.GetQuickReplyId(), SortOrder: 1, Text: "您好，欢迎光临本店！", Title: "not in the mask"}
	up, err := svc.UpdateQuickReply(kbAgent, &cataloguev1.UpdateQuickReplyRequest{QuickReply: patch, UpdateMask: mask, Etag: hello.GetEtag()})
	if err != nil {
		t.Fatal(err)
	}
	if u := up.GetQuickReply(); u.GetTitle() != "欢迎语" || u.GetText() != patch.GetText() || u.GetSortOrder() != 1 || u.GetEtag() == hello.GetEtag() {
		t.Fatalf("updated %+v", u)
	}
	if got := list(kbAgent, &cataloguev1.ListQuickRepliesRequest{Kind: greeting}); !same(got, hello, preHello) {
		t.Fatalf("greetings after reorder: %v", got)
	}
	if _, err := svc.UpdateQuickReply(kbAgent, &cataloguev1.UpdateQuickReplyRequest{QuickReply: patch, UpdateMask: mask, Etag: hello.GetEtag()}); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("stale etag: %v", err)
	}
	badShortcut := &cataloguev1.UpdateQuickReplyRequest{QuickReply: &cataloguev1.QuickReply{QuickReplyId: hello.GetQuickReplyId(), Shortcut: "hi there"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"shortcut"}}}
	if _, err := svc.UpdateQuickReply(kbAgent, badShortcut); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("bad shortcut: %v", err)
	}
	if _, err := svc.UpdateQuickReply(kbOtherShop, &cataloguev1.UpdateQuickReplyRequest{QuickReply: patch, UpdateMask: mask}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("other shop's agent update: %v", err)
	}
	if _, err := svc.DeleteQuickReply(kbBuyer, &cataloguev1.DeleteQuickReplyRequest{QuickReplyId: bye.GetQuickReplyId()}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("buyer delete: %v", err)
	}
	if _, err := svc.DeleteQuickReply(kbAgent, &cataloguev1.DeleteQuickReplyRequest{QuickReplyId: bye.GetQuickReplyId(), Etag: `"v9"`}); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("delete with stale etag: %v", err)
	}
	var badETag *errs.FieldError
	if _, err := svc.DeleteQuickReply(kbAgent, &cataloguev1.DeleteQuickReplyRequest{QuickReplyId: bye.GetQuickReplyId(), Etag: `W/"nine"`}); !errors.As(err, &badETag) || badETag.Field != "etag" {
		t.Fatalf("delete with an etag this server never issued is InvalidArgument on etag, not a conflict: %v", err)
	}
	if _, err := svc.DeleteQuickReply(kbAgent, &cataloguev1.DeleteQuickReplyRequest{QuickReplyId: bye.GetQuickReplyId(), Etag: bye.GetEtag()}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetQuickReply(kbAgent, &cataloguev1.GetQuickReplyRequest{QuickReplyId: bye.GetQuickReplyId()}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
}
