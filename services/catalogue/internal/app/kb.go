package app

import (
	"context"
	"fmt"
	"math"
	"regexp"

	"google.golang.org/protobuf/proto"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/catalogue/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/paging"
)

// Knowledge base. FAQs are public reading (bots answer buyers from them):
// anyone may get, list and search a shop's FAQs. Quick replies are the
// agents' own tools: only agents of the shop (and our services) read them.
// Either is written only by agents of the shop, or by a service naming it.

var (
	faqID        = regexp.MustCompile(`^faq_[A-Za-z0-9]{1,60}$`)
	quickReplyID = regexp.MustCompile(`^qr_[A-Za-z0-9]{1,60}$`)
)

// Default and largest number of FAQ search hits.
const (
	defaultFaqHits = 5
	maxFaqHits     = 50
)

// readShop is the shop a read is about: the one named, else the caller's
// own (agents); anyone else must name it.
func readShop(ctx context.Context, requested, rule string) (string, error) {
	if requested != "" {
		return requested, nil
	}
	if id, _ := identity.From(ctx); id.ShopID != "" {
		return id.ShopID, nil
	}
	return "", errs.Field("shop_id", rule, "name the shop whose FAQs to read")
}

// CreateFaq adds an FAQ to the caller's shop (agents of the shop, or a
// service naming the shop), idempotent on request_id.
func (s *Service) CreateFaq(ctx context.Context, r *cataloguev1.CreateFaqRequest) (*cataloguev1.CreateFaqResponse, error) {
	f := proto.Clone(r.GetFaq()).(*cataloguev1.Faq)
	shop, err := writeShop(ctx, f.GetShopId())
	if err != nil {
		return nil, err
	}
	// Ids are the server's; a seed import may bring its own stable ids.
	if f.GetFaqId() == "" || !isService(ctx) {
		f.FaqId = lifecycle.NewID("faq")
	} else if !faqID.MatchString(f.GetFaqId()) {
		return nil, errs.Field("faq.faq_id", "catalogue.faq.id", "faq ids look like faq_…")
	}
	f.ShopId, f.Etag, f.CreatedAt, f.UpdatedAt = shop, "", nil, nil
	out, err := s.store.InsertFaq(ctx, f, r.GetRequestId(), s.now())
	if err != nil {
		return nil, err
	}
	return &cataloguev1.CreateFaqResponse{Faq: out}, nil
}

// GetFaq reads one FAQ (anyone).
func (s *Service) GetFaq(ctx context.Context, r *cataloguev1.GetFaqRequest) (*cataloguev1.GetFaqResponse, error) {
	f, err := s.store.GetFaq(ctx, r.GetFaqId())
	if err != nil {
		return nil, err
	}
	return &cataloguev1.GetFaqResponse{Faq: f}, nil
}

type faqToken struct {
	Cursor   store.Cursor `json:"c"`
	Shop     string       `json:"s"`
	Topic    int32        `json:"t"`
	Category int32        `json:"g"`
}

// ListFaqs lists a shop's FAQs by topic then creation (anyone; agents
// default to their own shop, everyone else names it).
func (s *Service) ListFaqs(ctx context.Context, r *cataloguev1.ListFaqsRequest) (*cataloguev1.ListFaqsResponse, error) {
	shop, err := readShop(ctx, r.GetShopId(), "catalogue.list_faqs.shop")
	if err != nil {
		return nil, err
	}
	want := faqToken{Shop: shop, Topic: int32(r.GetTopic()), Category: int32(r.GetCategory())}
	q := store.FaqQuery{ShopID: shop, Topic: int16(r.GetTopic()), Category: int16(r.GetCategory()), Limit: paging.Size(r.GetPageSize())}
	var tok faqToken
	if err := paging.Decode(r.GetPageToken(), &tok); err != nil {
		return nil, err
	}
	if r.GetPageToken() != "" {
		if tok.Shop != want.Shop || tok.Topic != want.Topic || tok.Category != want.Category {
			return nil, errs.Field("page_token", "paging.token_mismatch", "page_token belongs to another query")
		}
		q.After = &tok.Cursor
	}
	fs, next, err := s.store.ListFaqs(ctx, q)
	if err != nil {
		return nil, err
	}
	resp := &cataloguev1.ListFaqsResponse{Faqs: fs}
	if next != nil {
		want.Cursor = *next
		resp.NextPageToken = paging.Encode(want)
	}
	return resp, nil
}

// UpdateFaq applies update_mask (etag-checked) and re-checks the merged FAQ
// against the contract's rules (agents of the FAQ's shop, or a service).
func (s *Service) UpdateFaq(ctx context.Context, r *cataloguev1.UpdateFaqRequest) (*cataloguev1.UpdateFaqResponse, error) {
	patch := r.GetFaq()
	current, err := s.store.GetFaq(ctx, patch.GetFaqId())
	if err != nil {
		return nil, err
	}
	if _, err := requireStaff(ctx, current.GetShopId(), "faq", current.GetFaqId()); err != nil {
		return nil, err
	}
	out, err := s.store.UpdateFaq(ctx, patch.GetFaqId(), s.now(), func(f *cataloguev1.Faq, version int64) error {
		if err := lifecycle.CheckETag("etag", r.GetEtag(), version); err != nil {
			return err
		}
		if err := applyMask(f, patch, r.GetUpdateMask().GetPaths()); err != nil {
			return err
		}
		return s.revalidate(f)
	})
	if err != nil {
		return nil, err
	}
	return &cataloguev1.UpdateFaqResponse{Faq: out}, nil
}

// DeleteFaq removes an FAQ (agents of its shop, or a service).
func (s *Service) DeleteFaq(ctx context.Context, r *cataloguev1.DeleteFaqRequest) (*cataloguev1.DeleteFaqResponse, error) {
	current, err := s.store.GetFaq(ctx, r.GetFaqId())
	if err != nil {
		return nil, err
	}
	if _, err := requireStaff(ctx, current.GetShopId(), "faq", current.GetFaqId()); err != nil {
		return nil, err
	}
	if err := s.store.DeleteFaq(ctx, r.GetFaqId(), r.GetEtag()); err != nil {
		return nil, err
	}
	return &cataloguev1.DeleteFaqResponse{}, nil
}

// SearchFaqs finds a shop's FAQs for a buyer's question (anyone; agents
// default to their own shop). Each term of the query is matched as a
// substring of question, answer and keywords (Chinese), or the whole query
// by pg_trgm word similarity (near misses). The score maps the store's
// relevance onto the contract's 0–1 (see faqScore).
func (s *Service) SearchFaqs(ctx context.Context, r *cataloguev1.SearchFaqsRequest) (*cataloguev1.SearchFaqsResponse, error) {
	shop, err := readShop(ctx, r.GetShopId(), "catalogue.search_faqs.shop")
	if err != nil {
		return nil, err
	}
	limit := int(r.GetPageSize())
	switch {
	case limit <= 0:
		limit = defaultFaqHits
	case limit > maxFaqHits:
		limit = maxFaqHits
	}
	hits, err := s.store.SearchFaqs(ctx, store.FaqSearch{
		ShopID: shop, Text: r.GetQuery(), Topic: int16(r.GetTopic()), Category: int16(r.GetCategory()),
		BotAnswerable: r.GetBotAnswerableOnly(), Limit: limit,
	})
	if err != nil {
		return nil, err
	}
	resp := &cataloguev1.SearchFaqsResponse{}
	for _, h := range hits {
		resp.Matches = append(resp.Matches, &cataloguev1.FaqMatch{Faq: h.Faq, Score: faqScore(h.Relevance)})
	}
	return resp, nil
}

// CreateQuickReply adds a quick reply to the caller's shop (agents of the
// shop, or a service naming the shop), idempotent on request_id.
func (s *Service) CreateQuickReply(ctx context.Context, r *cataloguev1.CreateQuickReplyRequest) (*cataloguev1.CreateQuickReplyResponse, error) {
	qr := proto.Clone(r.GetQuickReply()).(*cataloguev1.QuickReply)
	shop, err := writeShop(ctx, qr.GetShopId())
	if err != nil {
		return nil, err
	}
	if qr.GetQuickReplyId() == "" || !isService(ctx) {
		qr.QuickReplyId = lifecycle.NewID("qr")
	} else if !quickReplyID.MatchString(qr.GetQuickReplyId()) {
		return nil, errs.Field("quick_reply.quick_reply_id", "catalogue.quick_reply.id", "quick reply ids look like qr_…")
	}
	qr.ShopId, qr.Etag, qr.CreatedAt, qr.UpdatedAt = shop, "", nil, nil
	out, err := s.store.InsertQuickReply(ctx, qr, r.GetRequestId(), s.now())
	if err != nil {
		return nil, err
	}
	return &cataloguev1.CreateQuickReplyResponse{QuickReply: out}, nil
}

// GetQuickReply reads one quick reply (agents of its shop, or a service).
func (s *Service) GetQuickReply(ctx context.Context, r *cataloguev1.GetQuickReplyRequest) (*cataloguev1.GetQuickReplyResponse, error) {
	qr, err := s.store.GetQuickReply(ctx, r.GetQuickReplyId())
	if err != nil {
		return nil, err
	}
	if _, err := requireStaff(ctx, qr.GetShopId(), "quick reply", qr.GetQuickReplyId()); err != nil {
		return nil, err
	}
	return &cataloguev1.GetQuickReplyResponse{QuickReply: qr}, nil
}

type quickReplyToken struct {
	Cursor store.Cursor `json:"c"`
	Shop   string       `json:"s"`
	Group  int32        `json:"g"`
	Kind   int32        `json:"k"`
}

// ListQuickReplies lists the caller's shop's quick replies by kind then
// sort_order (agents only: the request names no shop).
func (s *Service) ListQuickReplies(ctx context.Context, r *cataloguev1.ListQuickRepliesRequest) (*cataloguev1.ListQuickRepliesResponse, error) {
	id, ok := identity.From(ctx)
	if !ok {
		return nil, errs.ErrUnauthenticated
	}
	if id.Role != identity.RoleAgent || id.ShopID == "" {
		return nil, fmt.Errorf("%w: quick replies are listed for the caller's shop, to its agents only", errs.ErrPermissionDenied)
	}
	want := quickReplyToken{Shop: id.ShopID, Group: int32(r.GetGroup()), Kind: int32(r.GetKind())}
	q := store.QuickReplyQuery{ShopID: id.ShopID, Group: int16(r.GetGroup()), Kind: int16(r.GetKind()), Limit: paging.Size(r.GetPageSize())}
	var tok quickReplyToken
	if err := paging.Decode(r.GetPageToken(), &tok); err != nil {
		return nil, err
	}
	if r.GetPageToken() != "" {
		if tok.Shop != want.Shop || tok.Group != want.Group || tok.Kind != want.Kind {
			return nil, errs.Field("page_token", "paging.token_mismatch", "page_token belongs to another query")
		}
		q.After = &tok.Cursor
	}
	qrs, next, err := s.store.ListQuickReplies(ctx, q)
	if err != nil {
		return nil, err
	}
	resp := &cataloguev1.ListQuickRepliesResponse{QuickReplies: qrs}
	if next != nil {
		want.Cursor = *next
		resp.NextPageToken = paging.Encode(want)
	}
	return resp, nil
}

// UpdateQuickReply applies update_mask (etag-checked) and re-checks the
// merged quick reply (agents of its shop, or a service).
func (s *Service) UpdateQuickReply(ctx context.Context, r *cataloguev1.UpdateQuickReplyRequest) (*cataloguev1.UpdateQuickReplyResponse, error) {
	patch := r.GetQuickReply()
	current, err := s.store.GetQuickReply(ctx, patch.GetQuickReplyId())
	if err != nil {
		return nil, err
	}
	if _, err := requireStaff(ctx, current.GetShopId(), "quick reply", current.GetQuickReplyId()); err != nil {
		return nil, err
	}
	out, err := s.store.UpdateQuickReply(ctx, patch.GetQuickReplyId(), s.now(), func(qr *cataloguev1.QuickReply, version int64) error {
		if err := lifecycle.CheckETag("etag", r.GetEtag(), version); err != nil {
			return err
		}
		if err := applyMask(qr, patch, r.GetUpdateMask().GetPaths()); err != nil {
			return err
		}
		return s.revalidate(qr)
	})
	if err != nil {
		return nil, err
	}
	return &cataloguev1.UpdateQuickReplyResponse{QuickReply: out}, nil
}

// DeleteQuickReply removes a quick reply (agents of its shop, or a service).
func (s *Service) DeleteQuickReply(ctx context.Context, r *cataloguev1.DeleteQuickReplyRequest) (*cataloguev1.DeleteQuickReplyResponse, error) {
	current, err := s.store.GetQuickReply(ctx, r.GetQuickReplyId())
	if err != nil {
		return nil, err
	}
	if _, err := requireStaff(ctx, current.GetShopId(), "quick reply", current.GetQuickReplyId()); err != nil {
		return nil, err
	}
	if err := s.store.DeleteQuickReply(ctx, r.GetQuickReplyId(), r.GetEtag()); err != nil {
		return nil, err
	}
	return &cataloguev1.DeleteQuickReplyResponse{}, nil
}

// faqScore maps a store relevance (tier + similarity, see store.FaqHit) onto
// 0–1: 0.5–1 when the question itself contains the query, 0.25–0.5 when only
// the answer or keywords do, below 0.25 for fuzzy-only hits.
func faqScore(relevance float64) float64 {
	tier := math.Floor(relevance)
	sim := relevance - tier
	switch {
	case tier >= 2:
		return math.Min(1, 0.5+sim/2)
	case tier >= 1:
		return 0.25 + sim/4
	default:
		return math.Max(sim/4, 0.001)
	}
}
