package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/outbox"
)

// kbTable is a knowledge-base table (FAQs, quick replies): each row keeps
// the document as jsonb beside the columns its filters use, and the columns
// own the id, shop, version and times. The message's field names match the
// columns (faq_id, shop_id, etag, created_at, updated_at).
type kbTable[T proto.Message] struct {
	noun    string // "faq": errors and messages
	table   string // "faqs"
	alias   string // "f" in the listing queries
	idField string // "faq_id": the id column and the message field
	// aggregate names its events ("faq" → faq.created, faq.updated).
	aggregate string
	newT      func() T
	// payload is the event payload of the record after a change.
	payload func(m T) proto.Message
	// filters returns the filter columns and their values for m.
	filters func(m T) (cols []string, vals []any)
}

// columns is the SELECT list scan reads.
func (k kbTable[T]) columns() string {
	return fmt.Sprintf(`%[1]s.%[2]s, %[1]s.shop_id, %[1]s.doc, %[1]s.version, %[1]s.created_at, %[1]s.updated_at`, k.alias, k.idField)
}

func (k kbTable[T]) field(m protoreflect.Message, name string) protoreflect.FieldDescriptor {
	return m.Descriptor().Fields().ByName(protoreflect.Name(name))
}

// doc strips what the columns own (ids, etag, times).
func (k kbTable[T]) doc(m T) ([]byte, error) {
	d := proto.Clone(m)
	r := d.ProtoReflect()
	for _, name := range []string{k.idField, "shop_id", "etag", "created_at", "updated_at"} {
		r.Clear(k.field(r, name))
	}
	return docJSON.Marshal(d)
}

// scan reads one row of columns() into a message.
func (k kbTable[T]) scan(row rowScanner) (T, int64, error) {
	var (
		id, shop         string
		doc              []byte
		version          int64
		created, updated time.Time
	)
	m := k.newT()
	if err := row.Scan(&id, &shop, &doc, &version, &created, &updated); err != nil {
		return m, 0, err
	}
	if err := protojson.Unmarshal(doc, m); err != nil {
		return m, 0, fmt.Errorf("%s %s: stored document unreadable: %w", k.noun, id, err)
	}
	r := m.ProtoReflect()
	r.Set(k.field(r, k.idField), protoreflect.ValueOfString(id))
	r.Set(k.field(r, "shop_id"), protoreflect.ValueOfString(shop))
	r.Set(k.field(r, "etag"), protoreflect.ValueOfString(lifecycle.ETag(version)))
	r.Set(k.field(r, "created_at"), protoreflect.ValueOfMessage(timestamppb.New(created).ProtoReflect()))
	r.Set(k.field(r, "updated_at"), protoreflect.ValueOfMessage(timestamppb.New(updated).ProtoReflect()))
	return m, version, nil
}

func (k kbTable[T]) idOf(m T) string {
	r := m.ProtoReflect()
	return r.Get(k.field(r, k.idField)).String()
}

func (k kbTable[T]) shopOf(m T) string {
	r := m.ProtoReflect()
	return r.Get(k.field(r, "shop_id")).String()
}

// get reads one row (locked when forUpdate, inside a transaction).
func (k kbTable[T]) get(ctx context.Context, q querier, id string, forUpdate bool) (T, int64, error) {
	sql := `SELECT ` + k.columns() + ` FROM ` + k.table + ` ` + k.alias + ` WHERE ` + k.alias + `.` + k.idField + `=$1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	m, v, err := k.scan(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, 0, errs.NotFound(k.noun, id)
	}
	return m, v, err
}

// insert stores a new row. When the shop already used requestID, nothing is
// written and the earlier row is returned (idempotent create).
func (k kbTable[T]) insert(ctx context.Context, s *Store, m T, requestID string, now time.Time) (T, error) {
	var zero T
	doc, err := k.doc(m)
	if err != nil {
		return zero, err
	}
	cols, vals := k.filters(m)
	names := append([]string{k.idField, "shop_id"}, cols...)
	names = append(names, "doc", "request_id", "created_at", "updated_at")
	args := append([]any{k.idOf(m), k.shopOf(m)}, vals...)
	args = append(args, doc, requestID, now)
	marks := make([]string, 0, len(names))
	for i := range len(args) {
		switch names[i] {
		case "request_id":
			marks = append(marks, fmt.Sprintf("NULLIF($%d,'')", i+1))
		default:
			marks = append(marks, fmt.Sprintf("$%d", i+1))
		}
	}
	marks = append(marks, fmt.Sprintf("$%d", len(args))) // updated_at = created_at
	// One round trip: the insert and its event go as one batch, which
	// PostgreSQL runs as one implicit transaction; the event is written only
	// when this transaction inserted the row (a repeated request id inserts
	// nothing). The stored row is what was inserted — no re-read.
	id := k.idOf(m)
	stored := k.asStored(m, now)
	var b pgx.Batch
	b.Queue(`INSERT INTO `+k.table+` (`+strings.Join(names, ", ")+`) VALUES (`+strings.Join(marks, ", ")+`)
		ON CONFLICT (shop_id, request_id) DO NOTHING`, args...)
	guard := `EXISTS (SELECT 1 FROM ` + k.table + ` WHERE ` + k.idField + ` = $1 AND xmin = pg_current_xact_id()::xid)`
	if err := outbox.Queue(ctx, &b, Source, guard, []any{id}, outbox.Event{Type: k.aggregate + ".created", Subject: id,
		ShopID: k.shopOf(m), Version: 1, OccurredAt: now, Payload: k.payload(stored)}); err != nil {
		return zero, err
	}
	res := s.pool.SendBatch(ctx, &b)
	tag, err := res.Exec()
	if err == nil {
		_, err = res.Exec()
	}
	if cerr := res.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if isUniqueViolation(err) {
			return zero, fmt.Errorf("%w: %s %s", errs.ErrAlreadyExists, k.noun, id)
		}
		return zero, err
	}
	if tag.RowsAffected() == 1 {
		return stored, nil
	}
	// the shop already used requestID: its row answers
	out, _, err := k.scan(s.pool.QueryRow(ctx, `SELECT `+k.columns()+` FROM `+k.table+` `+k.alias+
		` WHERE `+k.alias+`.shop_id=$1 AND `+k.alias+`.request_id=$2`, k.shopOf(m), requestID))
	return out, err
}

// asStored is m as a new row reads back: version 1's etag, created and
// updated now (the document round-trips through jsonb unchanged).
func (k kbTable[T]) asStored(m T, now time.Time) T {
	out := proto.Clone(m).(T)
	r := out.ProtoReflect()
	r.Set(k.field(r, "etag"), protoreflect.ValueOfString(lifecycle.ETag(1)))
	at := now.UTC().Truncate(time.Microsecond) // timestamptz precision
	r.Set(k.field(r, "created_at"), protoreflect.ValueOfMessage(timestamppb.New(at).ProtoReflect()))
	r.Set(k.field(r, "updated_at"), protoreflect.ValueOfMessage(timestamppb.New(at).ProtoReflect()))
	return out
}

// update reads the row under a lock, lets fn change it (fn sees the stored
// version for etag checks) and writes it back with the version bumped.
func (k kbTable[T]) update(ctx context.Context, s *Store, id string, now time.Time, fn func(m T, version int64) error) (T, error) {
	var zero T
	err := s.tx(ctx, func(tx pgx.Tx) error {
		m, version, err := k.get(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if err := fn(m, version); err != nil {
			return err
		}
		doc, err := k.doc(m)
		if err != nil {
			return err
		}
		cols, vals := k.filters(m)
		sets := make([]string, 0, len(cols)+3)
		args := []any{id}
		for i, c := range cols {
			sets = append(sets, fmt.Sprintf("%s=$%d", c, i+2))
			args = append(args, vals[i])
		}
		sets = append(sets, fmt.Sprintf("doc=$%d", len(args)+1), "version=version+1", fmt.Sprintf("updated_at=$%d", len(args)+2))
		args = append(args, doc, now)
		if _, err = tx.Exec(ctx, `UPDATE `+k.table+` SET `+strings.Join(sets, ", ")+` WHERE `+k.idField+`=$1`, args...); err != nil {
			return err
		}
		stored, _, err := k.get(ctx, tx, id, false)
		if err != nil {
			return err
		}
		return event(ctx, tx, k.aggregate+".updated", id, k.shopOf(stored), version+1, now, k.payload(stored))
	})
	if err != nil {
		return zero, err
	}
	out, _, err := k.get(ctx, s.pool, id, false)
	return out, err
}

// list returns one page of rows matching where (named args), ordered by
// listKey (a float8 expression) then id, plus the cursor of its last row
// when more may follow.
func (k kbTable[T]) list(ctx context.Context, s *Store, where []string, args map[string]any, listKey string, after *Cursor, limit int) ([]T, *Cursor, error) {
	idCol := k.alias + "." + k.idField
	args["limit"] = limit + 1
	if after != nil {
		where = append(where, "("+listKey+", "+idCol+") > (@after_key, @after_id)")
		args["after_key"], args["after_id"] = after.Key, after.ID
	}
	rows, err := s.pool.Query(ctx, `SELECT `+k.columns()+`, `+listKey+` AS sort_key FROM `+k.table+` `+k.alias+` WHERE `+
		strings.Join(where, " AND ")+` ORDER BY sort_key, `+idCol+` LIMIT @limit`, namedArgs(args))
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var (
		out  []T
		keys []float64
	)
	for rows.Next() {
		var key float64
		m, _, err := k.scan(scanWithKey{rows, &key})
		if err != nil {
			return nil, nil, err
		}
		out, keys = append(out, m), append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	var next *Cursor
	if len(out) > limit {
		out = out[:limit]
		next = &Cursor{Key: keys[limit-1], ID: k.idOf(out[limit-1])}
	}
	return out, next, nil
}
