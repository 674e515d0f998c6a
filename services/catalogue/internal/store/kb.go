package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// ---------------------------------------------------------------------------
// FAQs
// ---------------------------------------------------------------------------

// faqs is the FAQ table: filtered by topic and category, searched by text.
var faqs = kbTable[*cataloguev1.Faq]{
	noun: "faq", table: "faqs", alias: "f", idField: "faq_id", aggregate: "faq",
	newT:    func() *cataloguev1.Faq { return &cataloguev1.Faq{} },
	payload: func(f *cataloguev1.Faq) proto.Message { return &eventsv1.FaqChanged{Faq: f} },
	filters: func(f *cataloguev1.Faq) ([]string, []any) {
		return []string{"topic", "category", "search_text"}, []any{int16(f.GetTopic()), int16(f.GetCategory()), FaqSearchText(f)}
	},
}

// FaqSearchText is what FAQ search matches: question, answer and keywords.
func FaqSearchText(f *cataloguev1.Faq) string {
	return strings.Join(append([]string{f.GetQuestion(), f.GetAnswer()}, f.GetKeywords()...), " ")
}

// InsertFaq stores a new FAQ. When the shop already used requestID, nothing
// is written and the earlier FAQ is returned (idempotent create).
func (s *Store) InsertFaq(ctx context.Context, f *cataloguev1.Faq, requestID string, now time.Time) (*cataloguev1.Faq, error) {
	return faqs.insert(ctx, s, f, requestID, now)
}

var faqColumns = faqs.columns()

func scanFaq(r rowScanner) (*cataloguev1.Faq, int64, error) { return faqs.scan(r) }

// GetFaq reads one FAQ.
func (s *Store) GetFaq(ctx context.Context, id string) (*cataloguev1.Faq, error) {
	f, _, err := faqs.get(ctx, s.pool, id, false)
	return f, err
}

// UpdateFaq reads the FAQ under a row lock, lets fn change it (fn sees the
// stored version for etag checks) and writes it back with the version bumped.
func (s *Store) UpdateFaq(ctx context.Context, id string, now time.Time, fn func(f *cataloguev1.Faq, version int64) error) (*cataloguev1.Faq, error) {
	return faqs.update(ctx, s, id, now, fn)
}

// DeleteFaq removes an FAQ (etag-checked when given).
func (s *Store) DeleteFaq(ctx context.Context, id, etag string) error {
	return s.deleteVersioned(ctx, "faq", "faqs", "faq_id", id, etag)
}

// deleteVersioned locks a row of table by id, checks the etag, deletes it
// and writes "<aggregate>.deleted" in the same transaction.
func (s *Store) deleteVersioned(ctx context.Context, aggregate, table, idField, id, etag string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var version int64
		var shop string
		err := tx.QueryRow(ctx, `SELECT version, shop_id FROM `+table+` WHERE `+idField+`=$1 FOR UPDATE`, id).Scan(&version, &shop)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound(strings.ReplaceAll(aggregate, "_", " "), id)
		}
		if err != nil {
			return err
		}
		if err := lifecycle.CheckETag("etag", etag, version); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `DELETE FROM `+table+` WHERE `+idField+`=$1`, id); err != nil {
			return err
		}
		return event(ctx, tx, aggregate+".deleted", id, shop, version, time.Now(),
			&eventsv1.CatalogueRecordDeleted{Id: id, LastVersion: version})
	})
}

// FaqQuery filters and pages the FAQs of one shop.
type FaqQuery struct {
	ShopID   string
	Topic    int16 // 0 = any
	Category int16 // 0 = any; otherwise this category plus the FAQs about every category
	After    *Cursor
	Limit    int
}

// faqListKey orders by topic, then creation (whole milliseconds, so the
// key is an exact float8), then faq_id. The epoch is the UTC wall time's
// (the same number, but immutable), so the index faqs_shop_list holds it.
const faqListKey = `(f.topic::float8 * 1e13 + floor(extract(epoch FROM f.created_at AT TIME ZONE 'UTC') * 1000)::float8)`

// ListFaqs returns one page of a shop's FAQs by topic then creation, plus
// the cursor of its last row when more may follow.
func (s *Store) ListFaqs(ctx context.Context, q FaqQuery) ([]*cataloguev1.Faq, *Cursor, error) {
	where := []string{"f.shop_id = @shop"}
	args := map[string]any{"shop": q.ShopID}
	if q.Topic != 0 {
		where = append(where, "f.topic = @topic")
		args["topic"] = q.Topic
	}
	if q.Category != 0 {
		where = append(where, "f.category IN (@category, 0)")
		args["category"] = q.Category
	}
	return faqs.list(ctx, s, where, args, faqListKey, q.After, q.Limit)
}

// FaqSearch is a text search over the FAQs of one shop.
type FaqSearch struct {
	ShopID        string
	Text          string
	Topic         int16 // 0 = any
	Category      int16 // 0 = any; otherwise this category plus the FAQs about every category
	BotAnswerable bool  // only FAQs bots may answer with alone
	Limit         int
}

// FaqHit is a search hit with its relevance.
type FaqHit struct {
	Faq *cataloguev1.Faq
	// Relevance: a tier — 2 when every term of the query occurs in the
	// question, 1 when they occur only in the answer or keywords, 0 for a
	// fuzzy-only hit — plus 0.999 × the pg_trgm word similarity of the query
	// to the text, so a tier always outranks the one below it (an answer
	// that starts with the term must not beat a question containing it).
	// Range [0, 3), higher is better.
	Relevance float64
}

// SearchTerms splits a buyer's text into search terms at spaces and
// punctuation ("尺码怎么选？" → ["尺码怎么选"]; "衣服，尺码" → ["衣服" "尺码"]),
// so a question typed with other punctuation still finds the stored one.
func SearchTerms(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
}

// SearchFaqs finds FAQs whose text contains every term of the query as a
// substring (Chinese has no spaces, so 尺码 is found inside 衣服尺码怎么选),
// or to which the whole query is similar enough word by word (pg_trgm,
// typos and near misses); best first.
func (s *Store) SearchFaqs(ctx context.Context, q FaqSearch) ([]FaqHit, error) {
	terms := SearchTerms(q.Text)
	if len(terms) == 0 {
		return nil, nil
	}
	text := strings.Join(terms, " ")
	where := []string{"f.shop_id = @shop"}
	args := map[string]any{"shop": q.ShopID, "q": text, "limit": q.Limit}
	if q.Topic != 0 {
		where = append(where, "f.topic = @topic")
		args["topic"] = q.Topic
	}
	if q.Category != 0 {
		where = append(where, "f.category IN (@category, 0)")
		args["category"] = q.Category
	}
	if q.BotAnswerable {
		where = append(where, "coalesce((f.doc->>'bot_answerable')::boolean, false)")
	}
	inText := make([]string, len(terms))
	inQuestion := make([]string, len(terms))
	for i, t := range terms {
		name := fmt.Sprintf("term%d", i)
		args[name] = likePattern(t)
		inText[i] = "f.search_text ILIKE @" + name
		inQuestion[i] = "(f.doc->>'question') ILIKE @" + name
	}
	allInText := "(" + strings.Join(inText, " AND ") + ")"
	where = append(where, "("+allInText+" OR @q <% f.search_text)")
	relevance := `((CASE WHEN ` + strings.Join(inQuestion, " AND ") + ` THEN 2 WHEN ` + allInText + ` THEN 1 ELSE 0 END)::float8
		+ 0.999 * word_similarity(@q, f.search_text))`
	rows, err := s.pool.Query(ctx, `SELECT `+faqColumns+`, `+relevance+` AS relevance FROM faqs f WHERE `+
		strings.Join(where, " AND ")+` ORDER BY relevance DESC, f.faq_id LIMIT @limit`, namedArgs(args))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []FaqHit
	for rows.Next() {
		var h FaqHit
		f, _, err := scanFaq(scanWithKey{rows, &h.Relevance})
		if err != nil {
			return nil, err
		}
		h.Faq = f
		out = append(out, h)
	}
	return out, rows.Err()
}

// ---------------------------------------------------------------------------
// Quick replies
// ---------------------------------------------------------------------------

// quickReplies is the quick-reply table: filtered by agent group and kind.
var quickReplies = kbTable[*cataloguev1.QuickReply]{
	noun: "quick reply", table: "quick_replies", alias: "q", idField: "quick_reply_id", aggregate: "quick_reply",
	newT:    func() *cataloguev1.QuickReply { return &cataloguev1.QuickReply{} },
	payload: func(r *cataloguev1.QuickReply) proto.Message { return &eventsv1.QuickReplyChanged{QuickReply: r} },
	filters: func(r *cataloguev1.QuickReply) ([]string, []any) {
		return []string{"agent_group", "kind"}, []any{int16(r.GetGroup()), int16(r.GetKind())}
	},
}

// InsertQuickReply stores a new quick reply, idempotent on (shop, request id).
func (s *Store) InsertQuickReply(ctx context.Context, r *cataloguev1.QuickReply, requestID string, now time.Time) (*cataloguev1.QuickReply, error) {
	return quickReplies.insert(ctx, s, r, requestID, now)
}

func scanQuickReply(r rowScanner) (*cataloguev1.QuickReply, int64, error) {
	return quickReplies.scan(r)
}

// GetQuickReply reads one quick reply.
func (s *Store) GetQuickReply(ctx context.Context, id string) (*cataloguev1.QuickReply, error) {
	r, _, err := quickReplies.get(ctx, s.pool, id, false)
	return r, err
}

// UpdateQuickReply is read-modify-write under a row lock with a version bump.
func (s *Store) UpdateQuickReply(ctx context.Context, id string, now time.Time, fn func(r *cataloguev1.QuickReply, version int64) error) (*cataloguev1.QuickReply, error) {
	return quickReplies.update(ctx, s, id, now, fn)
}

// DeleteQuickReply removes a quick reply (etag-checked when given).
func (s *Store) DeleteQuickReply(ctx context.Context, id, etag string) error {
	return s.deleteVersioned(ctx, "quick_reply", "quick_replies", "quick_reply_id", id, etag)
}

// QuickReplyQuery filters and pages the quick replies of one shop.
type QuickReplyQuery struct {
	ShopID string
	Group  int16 // 0 = any; otherwise this group plus the replies for every group
	Kind   int16 // 0 = any
	After  *Cursor
	Limit  int
}

// quickReplyListKey orders by kind, then sort_order (0…10000, kept in the
// document), then quick_reply_id (index quick_replies_shop_list).
const quickReplyListKey = `(q.kind::float8 * 100000 + coalesce((q.doc->>'sort_order')::int, 0)::float8)`

// ListQuickReplies returns one page of a shop's quick replies by kind then
// sort_order, plus the cursor of its last row when more may follow.
func (s *Store) ListQuickReplies(ctx context.Context, q QuickReplyQuery) ([]*cataloguev1.QuickReply, *Cursor, error) {
	where := []string{"q.shop_id = @shop"}
	args := map[string]any{"shop": q.ShopID}
	if q.Group != 0 {
		where = append(where, "q.agent_group IN (@group, 0)")
		args["group"] = q.Group
	}
	if q.Kind != 0 {
		where = append(where, "q.kind = @kind")
		args["kind"] = q.Kind
	}
	return quickReplies.list(ctx, s, where, args, quickReplyListKey, q.After, q.Limit)
}
