package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/platform/errs"
)

// ---------------------------------------------------------------------------
// FAQs
// ---------------------------------------------------------------------------

// faqDoc strips what the columns own (ids, etag, times).
func faqDoc(f *cataloguev1.Faq) ([]byte, error) {
	d := proto.Clone(f).(*cataloguev1.Faq)
	d.FaqId, d.ShopId, d.Etag, d.CreatedAt, d.UpdatedAt = "", "", "", nil, nil
	return docJSON.Marshal(d)
}

// FaqSearchText is what FAQ search matches: question, answer and keywords.
func FaqSearchText(f *cataloguev1.Faq) string {
	return strings.Join(append([]string{f.GetQuestion(), f.GetAnswer()}, f.GetKeywords()...), " ")
}

// InsertFaq stores a new FAQ. When the shop already used requestID, nothing
// is written and the earlier FAQ is returned (idempotent create).
func (s *Store) InsertFaq(ctx context.Context, f *cataloguev1.Faq, requestID string, now time.Time) (*cataloguev1.Faq, error) {
	doc, err := faqDoc(f)
	if err != nil {
		return nil, err
	}
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO faqs (faq_id, shop_id, topic, category, search_text, doc, request_id, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,NULLIF($7,''),$8,$8)
		ON CONFLICT (shop_id, request_id) DO NOTHING`,
		f.GetFaqId(), f.GetShopId(), int16(f.GetTopic()), int16(f.GetCategory()), FaqSearchText(f), doc, requestID, now)
	if err != nil {
		if isUniqueViolation(err) {
			return nil, fmt.Errorf("%w: faq %s", errs.ErrAlreadyExists, f.GetFaqId())
		}
		return nil, err
	}
	id := f.GetFaqId()
	if tag.RowsAffected() == 0 {
		if err := s.pool.QueryRow(ctx, `SELECT faq_id FROM faqs WHERE shop_id=$1 AND request_id=$2`,
			f.GetShopId(), requestID).Scan(&id); err != nil {
			return nil, err
		}
	}
	return s.GetFaq(ctx, id)
}

const faqColumns = `f.faq_id, f.shop_id, f.doc, f.version, f.created_at, f.updated_at`

func scanFaq(r rowScanner) (*cataloguev1.Faq, int64, error) {
	var (
		f                cataloguev1.Faq
		id, shop         string
		doc              []byte
		version          int64
		created, updated time.Time
	)
	if err := r.Scan(&id, &shop, &doc, &version, &created, &updated); err != nil {
		return nil, 0, err
	}
	if err := protojson.Unmarshal(doc, &f); err != nil {
		return nil, 0, fmt.Errorf("faq %s: stored document unreadable: %w", id, err)
	}
	f.FaqId, f.ShopId, f.Etag = id, shop, ETag(version)
	f.CreatedAt, f.UpdatedAt = timestamppb.New(created), timestamppb.New(updated)
	return &f, version, nil
}

// GetFaq reads one FAQ.
func (s *Store) GetFaq(ctx context.Context, id string) (*cataloguev1.Faq, error) {
	f, _, err := scanFaq(s.pool.QueryRow(ctx, `SELECT `+faqColumns+` FROM faqs f WHERE f.faq_id=$1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.NotFound("faq", id)
	}
	return f, err
}

// UpdateFaq reads the FAQ under a row lock, lets fn change it (fn sees the
// stored version for etag checks) and writes it back with the version bumped.
func (s *Store) UpdateFaq(ctx context.Context, id string, now time.Time, fn func(f *cataloguev1.Faq, version int64) error) (*cataloguev1.Faq, error) {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		f, version, err := scanFaq(tx.QueryRow(ctx, `SELECT `+faqColumns+` FROM faqs f WHERE f.faq_id=$1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound("faq", id)
		}
		if err != nil {
			return err
		}
		if err := fn(f, version); err != nil {
			return err
		}
		doc, err := faqDoc(f)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			UPDATE faqs SET topic=$2, category=$3, search_text=$4, doc=$5, version=version+1, updated_at=$6
			WHERE faq_id=$1`,
			id, int16(f.GetTopic()), int16(f.GetCategory()), FaqSearchText(f), doc, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.GetFaq(ctx, id)
}

// DeleteFaq removes an FAQ (etag-checked when given).
func (s *Store) DeleteFaq(ctx context.Context, id, etag string) error {
	return s.deleteVersioned(ctx, "faq", `SELECT version FROM faqs WHERE faq_id=$1 FOR UPDATE`,
		`DELETE FROM faqs WHERE faq_id=$1`, id, etag)
}

// deleteVersioned locks a row by id, checks the etag and deletes it.
func (s *Store) deleteVersioned(ctx context.Context, kind, lockSQL, deleteSQL, id, etag string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var version int64
		err := tx.QueryRow(ctx, lockSQL, id).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound(kind, id)
		}
		if err != nil {
			return err
		}
		if err := CheckETag(etag, version); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, deleteSQL, id)
		return err
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
// key is an exact float8), then faq_id.
const faqListKey = `(f.topic::float8 * 1e13 + floor(extract(epoch FROM f.created_at) * 1000)::float8)`

// ListFaqs returns one page of a shop's FAQs by topic then creation, plus
// the cursor of its last row when more may follow.
func (s *Store) ListFaqs(ctx context.Context, q FaqQuery) ([]*cataloguev1.Faq, *Cursor, error) {
	where := []string{"f.shop_id = @shop"}
	args := map[string]any{"shop": q.ShopID, "limit": q.Limit + 1}
	if q.Topic != 0 {
		where = append(where, "f.topic = @topic")
		args["topic"] = q.Topic
	}
	if q.Category != 0 {
		where = append(where, "f.category IN (@category, 0)")
		args["category"] = q.Category
	}
	if q.After != nil {
		where = append(where, "("+faqListKey+", f.faq_id) > (@after_key, @after_id)")
		args["after_key"], args["after_id"] = q.After.Key, q.After.ID
	}
	rows, err := s.pool.Query(ctx, `SELECT `+faqColumns+`, `+faqListKey+` AS sort_key FROM faqs f WHERE `+
		strings.Join(where, " AND ")+` ORDER BY sort_key, f.faq_id LIMIT @limit`, namedArgs(args))
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var (
		out  []*cataloguev1.Faq
		keys []float64
	)
	for rows.Next() {
		var k float64
		f, _, err := scanFaq(scanWithKey{rows, &k})
		if err != nil {
			return nil, nil, err
		}
		out, keys = append(out, f), append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	var next *Cursor
	if len(out) > q.Limit {
		out = out[:q.Limit]
		next = &Cursor{Key: keys[q.Limit-1], ID: out[q.Limit-1].GetFaqId()}
	}
	return out, next, nil
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

// quickReplyDoc strips what the columns own (ids, etag, times).
func quickReplyDoc(r *cataloguev1.QuickReply) ([]byte, error) {
	d := proto.Clone(r).(*cataloguev1.QuickReply)
	d.QuickReplyId, d.ShopId, d.Etag, d.CreatedAt, d.UpdatedAt = "", "", "", nil, nil
	return docJSON.Marshal(d)
}

// InsertQuickReply stores a new quick reply, idempotent on (shop, request id).
func (s *Store) InsertQuickReply(ctx context.Context, r *cataloguev1.QuickReply, requestID string, now time.Time) (*cataloguev1.QuickReply, error) {
	doc, err := quickReplyDoc(r)
	if err != nil {
		return nil, err
	}
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO quick_replies (quick_reply_id, shop_id, agent_group, kind, doc, request_id, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,NULLIF($6,''),$7,$7)
		ON CONFLICT (shop_id, request_id) DO NOTHING`,
		r.GetQuickReplyId(), r.GetShopId(), int16(r.GetGroup()), int16(r.GetKind()), doc, requestID, now)
	if err != nil {
		if isUniqueViolation(err) {
			return nil, fmt.Errorf("%w: quick reply %s", errs.ErrAlreadyExists, r.GetQuickReplyId())
		}
		return nil, err
	}
	id := r.GetQuickReplyId()
	if tag.RowsAffected() == 0 {
		if err := s.pool.QueryRow(ctx, `SELECT quick_reply_id FROM quick_replies WHERE shop_id=$1 AND request_id=$2`,
			r.GetShopId(), requestID).Scan(&id); err != nil {
			return nil, err
		}
	}
	return s.GetQuickReply(ctx, id)
}

const quickReplyColumns = `q.quick_reply_id, q.shop_id, q.doc, q.version, q.created_at, q.updated_at`

func scanQuickReply(r rowScanner) (*cataloguev1.QuickReply, int64, error) {
	var (
		qr               cataloguev1.QuickReply
		id, shop         string
		doc              []byte
		version          int64
		created, updated time.Time
	)
	if err := r.Scan(&id, &shop, &doc, &version, &created, &updated); err != nil {
		return nil, 0, err
	}
	if err := protojson.Unmarshal(doc, &qr); err != nil {
		return nil, 0, fmt.Errorf("quick reply %s: stored document unreadable: %w", id, err)
	}
	qr.QuickReplyId, qr.ShopId, qr.Etag = id, shop, ETag(version)
	qr.CreatedAt, qr.UpdatedAt = timestamppb.New(created), timestamppb.New(updated)
	return &qr, version, nil
}

// GetQuickReply reads one quick reply.
func (s *Store) GetQuickReply(ctx context.Context, id string) (*cataloguev1.QuickReply, error) {
	r, _, err := scanQuickReply(s.pool.QueryRow(ctx, `SELECT `+quickReplyColumns+` FROM quick_replies q WHERE q.quick_reply_id=$1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.NotFound("quick reply", id)
	}
	return r, err
}

// UpdateQuickReply is read-modify-write under a row lock with a version bump.
func (s *Store) UpdateQuickReply(ctx context.Context, id string, now time.Time, fn func(r *cataloguev1.QuickReply, version int64) error) (*cataloguev1.QuickReply, error) {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		r, version, err := scanQuickReply(tx.QueryRow(ctx, `SELECT `+quickReplyColumns+` FROM quick_replies q WHERE q.quick_reply_id=$1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound("quick reply", id)
		}
		if err != nil {
			return err
		}
		if err := fn(r, version); err != nil {
			return err
		}
		doc, err := quickReplyDoc(r)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			UPDATE quick_replies SET agent_group=$2, kind=$3, doc=$4, version=version+1, updated_at=$5
			WHERE quick_reply_id=$1`,
			id, int16(r.GetGroup()), int16(r.GetKind()), doc, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.GetQuickReply(ctx, id)
}

// DeleteQuickReply removes a quick reply (etag-checked when given).
func (s *Store) DeleteQuickReply(ctx context.Context, id, etag string) error {
	return s.deleteVersioned(ctx, "quick reply", `SELECT version FROM quick_replies WHERE quick_reply_id=$1 FOR UPDATE`,
		`DELETE FROM quick_replies WHERE quick_reply_id=$1`, id, etag)
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
// document), then quick_reply_id.
const quickReplyListKey = `(q.kind::float8 * 100000 + coalesce((q.doc->>'sort_order')::int, 0)::float8)`

// ListQuickReplies returns one page of a shop's quick replies by kind then
// sort_order, plus the cursor of its last row when more may follow.
func (s *Store) ListQuickReplies(ctx context.Context, q QuickReplyQuery) ([]*cataloguev1.QuickReply, *Cursor, error) {
	where := []string{"q.shop_id = @shop"}
	args := map[string]any{"shop": q.ShopID, "limit": q.Limit + 1}
	if q.Group != 0 {
		where = append(where, "q.agent_group IN (@group, 0)")
		args["group"] = q.Group
	}
	if q.Kind != 0 {
		where = append(where, "q.kind = @kind")
		args["kind"] = q.Kind
	}
	if q.After != nil {
		where = append(where, "("+quickReplyListKey+", q.quick_reply_id) > (@after_key, @after_id)")
		args["after_key"], args["after_id"] = q.After.Key, q.After.ID
	}
	rows, err := s.pool.Query(ctx, `SELECT `+quickReplyColumns+`, `+quickReplyListKey+` AS sort_key FROM quick_replies q WHERE `+
		strings.Join(where, " AND ")+` ORDER BY sort_key, q.quick_reply_id LIMIT @limit`, namedArgs(args))
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var (
		out  []*cataloguev1.QuickReply
		keys []float64
	)
	for rows.Next() {
		var k float64
		r, _, err := scanQuickReply(scanWithKey{rows, &k})
		if err != nil {
			return nil, nil, err
		}
		out, keys = append(out, r), append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	var next *Cursor
	if len(out) > q.Limit {
		out = out[:q.Limit]
		next = &Cursor{Key: keys[q.Limit-1], ID: out[q.Limit-1].GetQuickReplyId()}
	}
	return out, next, nil
}
