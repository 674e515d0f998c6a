// Package store is the conversation schema's PostgreSQL persistence
// (pgx/v5): each resource is a row of filter/lock columns plus the contract
// document as jsonb; feed events are written in the caller's transaction and
// announced with NOTIFY on commit.
package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	convv1 "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	"github.com/kefu-suite/kefu/services/conversation/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/outbox"
	"github.com/kefu-suite/kefu/services/platform/pg"
)

// FeedChannel is the NOTIFY channel of the agents' feed; the payload is the
// shop id.
const FeedChannel = "conversation_feed"

// Store reaches the conversation schema.
type Store struct{ pool *pg.Pool }

// New wraps an open pool (search_path = conversation).
func New(pool *pg.Pool) *Store { return &Store{pool: pool} }

// Pool is the underlying pool (the feed listener takes a connection from it).

// Q is what reads run on: the pool or a transaction.
type Q interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Q returns the pool as a reader.
func (s *Store) Q() Q { return s.pool }

// Tx runs fn in one transaction (committed when fn returns nil). The feed
// events fn writes are announced right after the commit, on the same
// connection (see InsertEvent).
func (s *Store) Tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	ftx := &feedTx{}
	err = pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{}, func(tx pgx.Tx) error {
		ftx.Tx = tx
		return fn(ftx)
	})
	if err != nil || len(ftx.shops) == 0 {
		return err
	}
	// The change is committed whatever happens now: a lost announcement
	// only delays its events to the watchers' next heartbeat (the feed hub
	// reads again then), so it is not the change's failure. NOTIFY gives
	// its own transaction an xid, so its commit would wait for a WAL flush
	// while holding the server-wide notify lock (see InsertEvent); nothing
	// needs that commit durable (a notification never outlives a restart),
	// so it does not wait.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), announceTimeout)
	defer cancel()
	_, _ = conn.Exec(actx, `SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, shop)
		FROM unnest($2::text[]) AS shop`, FeedChannel, ftx.shops)
	return nil
}

// announceTimeout bounds the NOTIFY sent after a commit.
const announceTimeout = 5 * time.Second

// feedTx is Tx's transaction: it collects the shops whose feed events it
// wrote, to announce after the commit.
type feedTx struct {
	pgx.Tx
	shops []string
}

var marshal = protojson.MarshalOptions{UseProtoNames: true}

func toJSON(m proto.Message) []byte {
	b, err := marshal.Marshal(m)
	if err != nil {
		panic("store: marshal " + string(proto.MessageName(m)) + ": " + err.Error())
	}
	return b
}

func fromJSON(b []byte, m proto.Message) error {
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(b, m)
}

func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// IsUniqueViolation reports a unique-constraint conflict (a concurrent
// duplicate create).
func IsUniqueViolation(err error) bool { return isUnique(err) }

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ---- sessions ----

const sessionCols = `doc, version`

func scanSession(row pgx.Row) (*convv1.Session, int64, error) {
	var doc []byte
	var v int64
	if err := row.Scan(&doc, &v); err != nil {
		return nil, 0, err
	}
	s := &convv1.Session{}
	if err := fromJSON(doc, s); err != nil {
		return nil, 0, err
	}
	s.Etag = lifecycle.ETag(v)
	return s, v, nil
}

// GetSession reads a session (locked with forUpdate inside a transaction).
func GetSession(ctx context.Context, q Q, id string, forUpdate bool) (*convv1.Session, int64, error) {
	sql := `SELECT ` + sessionCols + ` FROM sessions WHERE session_id = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	s, v, err := scanSession(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, errs.NotFound("session", id)
	}
	return s, v, err
}

// SessionByRequest finds the session a create request made before.
func SessionByRequest(ctx context.Context, q Q, openedBy, requestID string) (*convv1.Session, bool, error) {
	return byRequest(ctx, q, requestID, scanSession,
		`SELECT `+sessionCols+` FROM sessions WHERE opened_by = $1 AND request_id = $2`, openedBy)
}

// byRequest finds what an earlier request with this id stored (the
// idempotent retry of a create): sql takes keys as its first parameters and
// the request id as the last. No request id → none.
func byRequest[T any](ctx context.Context, q Q, requestID string, scan func(pgx.Row) (T, int64, error), sql string, keys ...any) (T, bool, error) {
	var zero T
	if requestID == "" {
		return zero, false, nil
	}
	v, _, err := scan(q.QueryRow(ctx, sql, append(keys, requestID)...))
	if errors.Is(err, pgx.ErrNoRows) {
		return zero, false, nil
	}
	if err != nil {
		return zero, false, err
	}
	return v, true, nil
}

// scanDoc reads a (doc, seq) row into a new message of T's type.
func scanDoc[T proto.Message](row pgx.Row, newT func() T) (T, int64, error) {
	var doc []byte
	var seq int64
	m := newT()
	if err := row.Scan(&doc, &seq); err != nil {
		return m, 0, err
	}
	return m, seq, fromJSON(doc, m)
}

// OpenSession finds the buyer's open session with the shop.
func OpenSession(ctx context.Context, q Q, shopID, buyerID string, forUpdate bool) (*convv1.Session, int64, bool, error) {
	sql := `SELECT ` + sessionCols + ` FROM sessions WHERE shop_id = $1 AND buyer_id = $2 AND status <> 4`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	s, v, err := scanSession(q.QueryRow(ctx, sql, shopID, buyerID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, false, nil
	}
	return s, v, err == nil, err
}

// InsertSession stores a new session at version 1.
func InsertSession(ctx context.Context, tx pgx.Tx, s *convv1.Session, openedBy, requestID string) error {
	s.Etag = ""
	_, err := tx.Exec(ctx, `INSERT INTO sessions (session_id, shop_id, buyer_id, grp, status, priority, topic,
		assigned_agent_id, opened_by, request_id, opened_at, queued_at, last_message_at, version, doc)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,1,$14)`,
		s.SessionId, s.ShopId, s.BuyerId, int32(s.Group), int32(s.Status), int32(s.Priority), int32(s.Topic),
		s.AssignedAgentId, openedBy, nullable(requestID), s.OpenedAt.AsTime(), tsOf(s.QueuedAt), tsOf(s.LastMessageAt), toJSON(s))
	s.Etag = lifecycle.ETag(1)
	if err != nil {
		return err
	}
	return outbox.Write(ctx, tx, Source, sessionEvents(nil, s, 1, s.GetOpenedAt().AsTime())...)
}

// SaveSession writes a changed session; version is the one read under lock.
func SaveSession(ctx context.Context, tx pgx.Tx, s *convv1.Session, version int64) error {
	s.Etag = ""
	// The stored document before the change comes back from the same
	// statement: what changed is the session's events.
	var old []byte
	err := tx.QueryRow(ctx, `UPDATE sessions AS s SET grp=$2, status=$3, priority=$4, topic=$5, assigned_agent_id=$6,
		queued_at=$7, last_message_at=$8, version=s.version+1, doc=$9
		FROM (SELECT doc FROM sessions WHERE session_id=$1) AS prev
		WHERE s.session_id=$1 AND s.version=$10 RETURNING prev.doc`,
		s.SessionId, int32(s.Group), int32(s.Status), int32(s.Priority), int32(s.Topic), s.AssignedAgentId,
		tsOf(s.QueuedAt), tsOf(s.LastMessageAt), toJSON(s), version).Scan(&old)
	s.Etag = lifecycle.ETag(version + 1)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: session %s changed meanwhile", errs.ErrConflict, s.SessionId)
	}
	if err != nil {
		return err
	}
	was := &convv1.Session{}
	if err := fromJSON(old, was); err != nil {
		return err
	}
	return outbox.Write(ctx, tx, Source, sessionEvents(was, s, version+1, time.Now())...)
}

// QueuePosition: 1 + the sessions waiting for a person ahead in the group's
// queue (the bot's sessions are in no queue yet).
func QueuePosition(ctx context.Context, q Q, s *convv1.Session) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE shop_id=$1 AND grp=$2 AND status = 2
		AND session_id <> $3 AND (priority > $4 OR priority = $4 AND queued_at <= $5)`,
		s.ShopId, int32(s.Group), s.SessionId, int32(s.Priority), s.QueuedAt.AsTime()).Scan(&n)
	return n + 1, err
}

// QueueHeadAhead locks and returns the first session waiting for a person
// in s's group queue ahead of s (urgent first, then longest waiting);
// sessions locked by others are skipped (they are being taken). found is
// false when none waits ahead.
func QueueHeadAhead(ctx context.Context, tx pgx.Tx, s *convv1.Session) (*convv1.Session, int64, bool, error) {
	head, v, err := scanSession(tx.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE shop_id=$1 AND grp=$2 AND status = 2
		AND session_id <> $3 AND (priority > $4 OR priority = $4 AND queued_at <= $5)
		ORDER BY priority DESC, queued_at, session_id LIMIT 1 FOR UPDATE SKIP LOCKED`,
		s.ShopId, int32(s.Group), s.SessionId, int32(s.Priority), s.QueuedAt.AsTime()))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, false, nil
	}
	return head, v, err == nil, err
}

// QueueHead locks and returns the first session waiting for a person in
// the group's queue (urgent first, then longest waiting), skipping sessions
// locked by others (they are being taken).
func QueueHead(ctx context.Context, tx pgx.Tx, shopID string, group domain.Group) (*convv1.Session, int64, bool, error) {
	head, v, err := scanSession(tx.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE shop_id=$1 AND grp=$2 AND status = 2
		ORDER BY priority DESC, queued_at, session_id LIMIT 1 FOR UPDATE SKIP LOCKED`, shopID, int32(group)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, false, nil
	}
	return head, v, err == nil, err
}

// SessionFilter is ListSessions' query.
type SessionFilter struct {
	ShopID, BuyerID, AgentID  string
	Status, Group, Priority   int32
	Topic                     int32
	UnassignedOnly            bool
	OpenedAfter, OpenedBefore time.Time
	Queue                     bool // WAITING queue order
	Limit                     int
	// keyset cursor
	AfterPriority int32
	AfterTime     time.Time
	AfterID       string
}

// ListSessions lists sessions: queue order (urgent first, then longest
// waiting) or most recently opened first.
func ListSessions(ctx context.Context, q Q, f SessionFilter) ([]*convv1.Session, error) {
	where := "true"
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.ShopID != "" {
		add("shop_id = $%d", f.ShopID)
	}
	if f.BuyerID != "" {
		add("buyer_id = $%d", f.BuyerID)
	}
	if f.AgentID != "" {
		add("assigned_agent_id = $%d", f.AgentID)
	}
	if f.UnassignedOnly {
		where += " AND assigned_agent_id = ''"
	}
	if f.Status != 0 {
		add("status = $%d", f.Status)
	}
	if f.Group != 0 {
		add("grp = $%d", f.Group)
	}
	if f.Priority != 0 {
		add("priority = $%d", f.Priority)
	}
	if f.Topic != 0 {
		add("topic = $%d", f.Topic)
	}
	if !f.OpenedAfter.IsZero() {
		add("opened_at >= $%d", f.OpenedAfter)
	}
	if !f.OpenedBefore.IsZero() {
		add("opened_at < $%d", f.OpenedBefore)
	}
	order := "opened_at DESC, session_id DESC"
	if f.Queue {
		order = "priority DESC, queued_at, session_id"
		if f.AfterID != "" {
			args = append(args, f.AfterPriority, f.AfterTime, f.AfterID)
			n := len(args)
			where += fmt.Sprintf(" AND (-priority, queued_at, session_id) > (-$%d::smallint, $%d::timestamptz, $%d::text)", n-2, n-1, n)
		}
	} else if f.AfterID != "" {
		args = append(args, f.AfterTime, f.AfterID)
		n := len(args)
		where += fmt.Sprintf(" AND (opened_at, session_id) < ($%d::timestamptz, $%d::text)", n-1, n)
	}
	args = append(args, f.Limit)
	rows, err := q.Query(ctx, `SELECT `+sessionCols+` FROM sessions WHERE `+where+` ORDER BY `+order+fmt.Sprintf(" LIMIT $%d", len(args)), args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanSession)
}

func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, int64, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, _, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ---- messages ----

func scanMessage(row pgx.Row) (*convv1.Message, int64, error) {
	return scanDoc(row, func() *convv1.Message { return &convv1.Message{} })
}

// MessageByRequest finds a message a send request stored before.
func MessageByRequest(ctx context.Context, q Q, sessionID, senderID, requestID string) (*convv1.Message, bool, error) {
	return byRequest(ctx, q, requestID, scanMessage,
		`SELECT doc, seq FROM messages WHERE session_id=$1 AND sender_id=$2 AND request_id=$3`, sessionID, senderID)
}

// GetMessage reads one message.
func GetMessage(ctx context.Context, q Q, id string) (*convv1.Message, error) {
	m, _, err := scanMessage(q.QueryRow(ctx, `SELECT doc, seq FROM messages WHERE message_id=$1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.NotFound("message", id)
	}
	return m, err
}

// InsertMessage stores a message.
func InsertMessage(ctx context.Context, tx pgx.Tx, m *convv1.Message, requestID string) error {
	var buyer string
	err := tx.QueryRow(ctx, `INSERT INTO messages (message_id, session_id, sender_id, request_id, created_at, doc) VALUES ($1,$2,$3,$4,$5,$6)
		RETURNING (SELECT buyer_id FROM sessions WHERE session_id=$2)`,
		m.MessageId, m.SessionId, m.SenderId, nullable(requestID), m.CreatedAt.AsTime(), toJSON(m)).Scan(&buyer)
	if err != nil {
		return err
	}
	return outbox.Write(ctx, tx, Source, messageEvent(m, buyer))
}

// ListMessages pages a session's messages by their insertion order.
func ListMessages(ctx context.Context, q Q, sessionID string, newestFirst bool, afterSeq int64, limit int) ([]*convv1.Message, []int64, error) {
	cmp, order := ">", "ASC"
	if newestFirst {
		cmp, order = "<", "DESC"
		if afterSeq == 0 {
			afterSeq = 1<<63 - 1
		}
	}
	rows, err := q.Query(ctx, `SELECT doc, seq FROM messages WHERE session_id=$1 AND seq `+cmp+` $2 ORDER BY seq `+order+` LIMIT $3`, sessionID, afterSeq, limit)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var ms []*convv1.Message
	var seqs []int64
	for rows.Next() {
		m, seq, err := scanMessage(rows)
		if err != nil {
			return nil, nil, err
		}
		ms, seqs = append(ms, m), append(seqs, seq)
	}
	return ms, seqs, rows.Err()
}

// ---- transfers ----

func scanTransfer(row pgx.Row) (*convv1.Transfer, int64, error) {
	return scanDoc(row, func() *convv1.Transfer { return &convv1.Transfer{} })
}

// TransferByRequest finds a transfer a request recorded before.
func TransferByRequest(ctx context.Context, q Q, sessionID, actorID, requestID string) (*convv1.Transfer, bool, error) {
	return byRequest(ctx, q, requestID, scanTransfer,
		`SELECT doc, seq FROM transfers WHERE session_id=$1 AND actor_id=$2 AND request_id=$3`, sessionID, actorID)
}

// InsertTransfer records a transfer.
func InsertTransfer(ctx context.Context, tx pgx.Tx, t *convv1.Transfer, requestID string) error {
	var buyer string
	err := tx.QueryRow(ctx, `INSERT INTO transfers (transfer_id, session_id, actor_id, request_id, created_at, doc) VALUES ($1,$2,$3,$4,$5,$6)
		RETURNING (SELECT buyer_id FROM sessions WHERE session_id=$2)`,
		t.TransferId, t.SessionId, t.GetActor().GetSubject(), nullable(requestID), t.CreatedAt.AsTime(), toJSON(t)).Scan(&buyer)
	if err != nil {
		return err
	}
	return outbox.Write(ctx, tx, Source, transferEvent(t, buyer))
}

// ListTransfers pages a session's transfers, oldest first.
func ListTransfers(ctx context.Context, q Q, sessionID string, afterSeq int64, limit int) ([]*convv1.Transfer, []int64, error) {
	rows, err := q.Query(ctx, `SELECT doc, seq FROM transfers WHERE session_id=$1 AND seq > $2 ORDER BY seq LIMIT $3`, sessionID, afterSeq, limit)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var ts []*convv1.Transfer
	var seqs []int64
	for rows.Next() {
		t, seq, err := scanTransfer(rows)
		if err != nil {
			return nil, nil, err
		}
		ts, seqs = append(ts, t), append(seqs, seq)
	}
	return ts, seqs, rows.Err()
}

// ---- agents ----

// AgentRow is an agent's availability with its bookkeeping.
type AgentRow struct {
	domain.Agent
	Note        string
	StatusSince time.Time
	UpdatedAt   time.Time
	Version     int64
}

const agentCols = `a.agent_id, a.shop_id, a.grp, a.rank, a.status, a.max_sessions, a.note, a.status_since, a.updated_at, a.version,
	(SELECT count(*) FROM sessions s WHERE s.assigned_agent_id = a.agent_id AND s.status = 3)`

func scanAgent(row pgx.Row) (*AgentRow, int64, error) {
	var a AgentRow
	var grp, rank, status int16
	var active int64
	if err := row.Scan(&a.ID, &a.ShopID, &grp, &rank, &status, &a.MaxActive, &a.Note, &a.StatusSince, &a.UpdatedAt, &a.Version, &active); err != nil {
		return nil, 0, err
	}
	a.Group, a.Rank, a.Status, a.Active = domain.Group(grp), domain.Rank(rank), domain.AgentStatus(status), int(active)
	a.StatusSince, a.UpdatedAt = a.StatusSince.UTC(), a.UpdatedAt.UTC()
	return &a, a.Version, nil
}

// GetAgent reads an agent (locked with forUpdate); found false when the
// agent never registered. The lock is taken first and the active-session
// count read by a second statement, so under READ COMMITTED the count is
// the one current after the lock wait (accepts and routing serialise on the
// agent row and never overfill an agent).
func GetAgent(ctx context.Context, q Q, id string, forUpdate bool) (*AgentRow, bool, error) {
	if forUpdate {
		if _, err := q.Exec(ctx, `SELECT 1 FROM agents WHERE agent_id = $1 FOR UPDATE`, id); err != nil {
			return nil, false, err
		}
	}
	a, _, err := scanAgent(q.QueryRow(ctx, `SELECT `+agentCols+` FROM agents a WHERE a.agent_id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	return a, err == nil, err
}

// ShopAgents lists a shop's agents (of one group when group > 0), locked
// with forUpdate (lock first, then count, as GetAgent) so routing never
// overfills one.
func ShopAgents(ctx context.Context, q Q, shopID string, group domain.Group, forUpdate bool) ([]*AgentRow, error) {
	if forUpdate {
		if _, err := q.Exec(ctx, `SELECT 1 FROM agents WHERE shop_id = $1 AND ($2 = 0 OR grp = $2) ORDER BY agent_id FOR UPDATE`, shopID, int32(group)); err != nil {
			return nil, err
		}
	}
	rows, err := q.Query(ctx, `SELECT `+agentCols+` FROM agents a WHERE a.shop_id = $1 AND ($2 = 0 OR a.grp = $2) ORDER BY a.agent_id`, shopID, int32(group))
	if err != nil {
		return nil, err
	}
	return collect(rows, scanAgent)
}

// UpsertAgent writes an agent's availability (version+1, or 1 when new).
func UpsertAgent(ctx context.Context, tx pgx.Tx, a *AgentRow) error {
	tag, err := tx.Exec(ctx, `INSERT INTO agents (agent_id, shop_id, grp, rank, status, max_sessions, note, status_since, updated_at, version)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,1)
		ON CONFLICT (agent_id) DO UPDATE SET grp=$3, rank=$4, status=$5, max_sessions=$6, note=$7, status_since=$8, updated_at=$9,
		  version = agents.version + 1 WHERE agents.version = $10`,
		a.ID, a.ShopID, int32(a.Group), int32(a.Rank), int32(a.Status), a.MaxActive, a.Note, a.StatusSince, a.UpdatedAt, a.Version)
	if err == nil && tag.RowsAffected() != 1 {
		return fmt.Errorf("%w: agent %s changed meanwhile", errs.ErrConflict, a.ID)
	}
	a.Version++
	return err
}

// ---- auto replies ----

// GetAutoReply reads a saved configuration; found false when never saved.
func GetAutoReply(ctx context.Context, q Q, shopID string, group domain.Group, forUpdate bool) (*convv1.AutoReply, int64, bool, error) {
	sql := `SELECT doc, version FROM auto_replies WHERE shop_id=$1 AND grp=$2`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	var doc []byte
	var v int64
	err := q.QueryRow(ctx, sql, shopID, int32(group)).Scan(&doc, &v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	ar := &convv1.AutoReply{}
	if err := fromJSON(doc, ar); err != nil {
		return nil, 0, false, err
	}
	ar.Etag = lifecycle.ETag(v)
	return ar, v, true, nil
}

// SaveAutoReply inserts (version 0) or updates a configuration.
func SaveAutoReply(ctx context.Context, tx pgx.Tx, ar *convv1.AutoReply, version int64) error {
	ar.Etag = ""
	tag, err := tx.Exec(ctx, `INSERT INTO auto_replies (shop_id, grp, version, doc) VALUES ($1,$2,1,$3)
		ON CONFLICT (shop_id, grp) DO UPDATE SET doc=$3, version=auto_replies.version+1 WHERE auto_replies.version=$4`,
		ar.ShopId, int32(ar.Group), toJSON(ar), version)
	if err == nil && tag.RowsAffected() != 1 {
		return fmt.Errorf("%w: auto-reply changed meanwhile", errs.ErrConflict)
	}
	ar.Etag = lifecycle.ETag(version + 1)
	return err
}

// ---- offline messages ----

func scanOffline(row pgx.Row) (*convv1.OfflineMessage, int64, error) {
	var doc []byte
	var v int64
	var answerReq *string
	if err := row.Scan(&doc, &v, &answerReq); err != nil {
		return nil, 0, err
	}
	m := &convv1.OfflineMessage{}
	if err := fromJSON(doc, m); err != nil {
		return nil, 0, err
	}
	m.Etag = lifecycle.ETag(v)
	return m, v, nil
}

// GetOffline reads an offline message and the request id that answered it.
func GetOffline(ctx context.Context, q Q, id string, forUpdate bool) (*convv1.OfflineMessage, int64, string, error) {
	sql := `SELECT doc, version, answer_request_id FROM offline_messages WHERE offline_message_id=$1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	var doc []byte
	var v int64
	var answerReq *string
	err := q.QueryRow(ctx, sql, id).Scan(&doc, &v, &answerReq)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, "", errs.NotFound("offline message", id)
	}
	if err != nil {
		return nil, 0, "", err
	}
	m := &convv1.OfflineMessage{}
	if err := fromJSON(doc, m); err != nil {
		return nil, 0, "", err
	}
	m.Etag = lifecycle.ETag(v)
	req := ""
	if answerReq != nil {
		req = *answerReq
	}
	return m, v, req, nil
}

// OfflineByRequest finds an offline message a request left before.
func OfflineByRequest(ctx context.Context, q Q, leftBy, requestID string) (*convv1.OfflineMessage, bool, error) {
	return byRequest(ctx, q, requestID, scanOffline,
		`SELECT doc, version, answer_request_id FROM offline_messages WHERE left_by=$1 AND request_id=$2`, leftBy)
}

// InsertOffline stores a new offline message.
func InsertOffline(ctx context.Context, tx pgx.Tx, m *convv1.OfflineMessage, leftBy, requestID string) error {
	m.Etag = ""
	// the row and its event in one round trip
	var b pgx.Batch
	b.Queue(`INSERT INTO offline_messages (offline_message_id, shop_id, buyer_id, grp, status, left_by, request_id, created_at, version, doc)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,1,$9)`,
		m.OfflineMessageId, m.ShopId, m.BuyerId, int32(m.Group), int32(m.Status), leftBy, nullable(requestID), m.CreatedAt.AsTime(), toJSON(m))
	m.Etag = lifecycle.ETag(1)
	if err := outbox.Queue(ctx, &b, Source, "", nil, offlineEvent(m, "left", 1)); err != nil {
		return err
	}
	return tx.SendBatch(ctx, &b).Close()
}

// SaveOffline writes an answered offline message.
func SaveOffline(ctx context.Context, tx pgx.Tx, m *convv1.OfflineMessage, version int64, answerRequestID string) error {
	m.Etag = ""
	tag, err := tx.Exec(ctx, `UPDATE offline_messages SET status=$2, answer_request_id=$3, version=version+1, doc=$4 WHERE offline_message_id=$1 AND version=$5`,
		m.OfflineMessageId, int32(m.Status), nullable(answerRequestID), toJSON(m), version)
	if err == nil && tag.RowsAffected() != 1 {
		err = fmt.Errorf("%w: offline message changed meanwhile", errs.ErrConflict)
	}
	m.Etag = lifecycle.ETag(version + 1)
	if err != nil {
		return err
	}
	return outbox.Write(ctx, tx, Source, offlineEvent(m, offlineStatusWord(m.GetStatus()), version+1))
}

// OfflineFilter is ListOfflineMessages' query.
type OfflineFilter struct {
	ShopID, BuyerID string
	Status, Group   int32
	Limit           int
	AfterTime       time.Time
	AfterID         string
}

// ListOffline: UNANSWERED oldest first (the answer queue), otherwise newest
// first.
func ListOffline(ctx context.Context, q Q, f OfflineFilter) ([]*convv1.OfflineMessage, error) {
	where := "true"
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.ShopID != "" {
		add("shop_id = $%d", f.ShopID)
	}
	if f.BuyerID != "" {
		add("buyer_id = $%d", f.BuyerID)
	}
	if f.Status != 0 {
		add("status = $%d", f.Status)
	}
	if f.Group != 0 {
		add("grp = $%d", f.Group)
	}
	asc := f.Status == int32(convv1.OfflineMessageStatus_OFFLINE_MESSAGE_STATUS_UNANSWERED)
	order, cmp := "created_at DESC, offline_message_id DESC", "<"
	if asc {
		order, cmp = "created_at, offline_message_id", ">"
	}
	if f.AfterID != "" {
		args = append(args, f.AfterTime, f.AfterID)
		n := len(args)
		where += fmt.Sprintf(" AND (created_at, offline_message_id) %s ($%d::timestamptz, $%d::text)", cmp, n-1, n)
	}
	args = append(args, f.Limit)
	rows, err := q.Query(ctx, `SELECT doc, version, answer_request_id FROM offline_messages WHERE `+where+` ORDER BY `+order+fmt.Sprintf(" LIMIT $%d", len(args)), args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanOffline)
}

// ---- handover notes ----

// NoteByRequest finds a note a request created before.
func NoteByRequest(ctx context.Context, q Q, author, requestID string) (string, bool, error) {
	if requestID == "" {
		return "", false, nil
	}
	var id string
	err := q.QueryRow(ctx, `SELECT handover_note_id FROM handover_notes WHERE author_agent_id=$1 AND request_id=$2`, author, requestID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return id, err == nil, err
}

// InsertNote stores a handover note (reads are kept apart).
func InsertNote(ctx context.Context, tx pgx.Tx, n *convv1.HandoverNote, requestID string) error {
	_, err := tx.Exec(ctx, `INSERT INTO handover_notes (handover_note_id, shop_id, author_agent_id, to_group, to_agent_id, request_id, created_at, doc)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
		n.HandoverNoteId, n.ShopId, n.AuthorAgentId, int32(n.ToGroup), n.ToAgentId, nullable(requestID), n.CreatedAt.AsTime(), toJSON(n))
	if err != nil {
		return err
	}
	return outbox.Write(ctx, tx, Source, noteEvent(n, "written", "", n.GetCreatedAt().AsTime()))
}

const noteCols = `n.doc, coalesce((SELECT jsonb_agg(jsonb_build_object('agent_id', r.agent_id, 'read_at', r.read_at) ORDER BY r.read_at, r.agent_id)
	FROM handover_reads r WHERE r.handover_note_id = n.handover_note_id), '[]'::jsonb)`

type readJSON struct {
	AgentID string    `json:"agent_id"`
	ReadAt  time.Time `json:"read_at"`
}

func scanNote(row pgx.Row) (*convv1.HandoverNote, int64, error) {
	var doc []byte
	var reads []readJSON
	if err := row.Scan(&doc, &reads); err != nil {
		return nil, 0, err
	}
	n := &convv1.HandoverNote{}
	if err := fromJSON(doc, n); err != nil {
		return nil, 0, err
	}
	for _, r := range reads {
		n.Reads = append(n.Reads, &convv1.HandoverNoteRead{AgentId: r.AgentID, ReadAt: tsProto(r.ReadAt)})
	}
	n.Etag = lifecycle.ETag(int64(1 + len(reads)))
	return n, 0, nil
}

// GetNote reads a note with its reads.
func GetNote(ctx context.Context, q Q, id string) (*convv1.HandoverNote, error) {
	n, _, err := scanNote(q.QueryRow(ctx, `SELECT `+noteCols+` FROM handover_notes n WHERE n.handover_note_id=$1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.NotFound("handover note", id)
	}
	return n, err
}

// MarkRead records that agent read the note (once; idempotent: a repeated
// read writes no event).
func (s *Store) MarkRead(ctx context.Context, n *convv1.HandoverNote, agentID string, at time.Time) error {
	return s.Tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO handover_reads (handover_note_id, agent_id, read_at) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING`,
			n.GetHandoverNoteId(), agentID, at)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return outbox.Write(ctx, tx, Source, noteEvent(n, "read", agentID, at))
	})
}

// NoteFilter is ListHandoverNotes' query.
type NoteFilter struct {
	ShopID       string
	AllOfShop    bool // supervisors+
	Reader       string
	ReaderGroup  int32
	ToGroup      int32
	Author       string
	CreatedAfter time.Time
	UnreadOnly   bool
	Limit        int
	AfterTime    time.Time
	AfterID      string
}

// ListNotes lists the notes addressed to the reader (to them, their group
// or the whole shop; everything of the shop for supervisors+), newest first.
func ListNotes(ctx context.Context, q Q, f NoteFilter) ([]*convv1.HandoverNote, error) {
	args := []any{f.ShopID, f.Reader}
	where := "n.shop_id = $1 AND $2::text IS NOT NULL" // $2, the reader, is used by some filters only
	add := func(cond string, v any) {
		args = append(args, v)
		where += fmt.Sprintf(" AND "+cond, len(args))
	}
	if !f.AllOfShop {
		add("(n.to_agent_id = $2 OR n.to_agent_id = '' AND (n.to_group = 0 OR n.to_group = $%d))", f.ReaderGroup)
	}
	if f.ToGroup != 0 {
		add("n.to_group = $%d", f.ToGroup)
	}
	if f.Author != "" {
		add("n.author_agent_id = $%d", f.Author)
	}
	if !f.CreatedAfter.IsZero() {
		add("n.created_at >= $%d", f.CreatedAfter)
	}
	if f.UnreadOnly {
		where += " AND NOT EXISTS (SELECT 1 FROM handover_reads r WHERE r.handover_note_id = n.handover_note_id AND r.agent_id = $2)"
	}
	if f.AfterID != "" {
		args = append(args, f.AfterTime, f.AfterID)
		n := len(args)
		where += fmt.Sprintf(" AND (n.created_at, n.handover_note_id) < ($%d::timestamptz, $%d::text)", n-1, n)
	}
	args = append(args, f.Limit)
	rows, err := q.Query(ctx, `SELECT `+noteCols+` FROM handover_notes n WHERE `+where+
		` ORDER BY n.created_at DESC, n.handover_note_id DESC`+fmt.Sprintf(" LIMIT $%d", len(args)), args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanNote)
}

// ---- the feed ----

// A shop's feed is read in order by many watchers, each remembering how far
// it got, so an event must never become visible behind a place a reader
// has already passed. Event ids alone cannot promise that without
// serializing the writers: a transaction that took id 10 may commit after
// the one that took id 11 (a per-shop advisory lock held to commit did
// serialize them, and capped a busy shop's chats at one commit at a time).
//
// Instead each event records its writing transaction's id (xid8, the
// column's default pg_current_xact_id(): the top-level transaction even
// inside a savepoint), and the feed's order is (xid, event_id). A reader
// takes only the events below its snapshot's horizon, the oldest
// transaction of this database still running (else the snapshot's xmax):
// every transaction below it has ended, and every one still running or not
// yet writing has (or will get) an id at or above it, so the events a
// reader takes can never be joined later by one that sorts before them.
// The horizon leaves out the running transactions of other databases on
// the server (xids are server-wide; pg_stat_activity tells whose they
// are): they cannot write our rows, and another database's CREATE DATABASE
// or long batch would otherwise hold every feed back for as long as it
// runs. An xid it cannot attribute counts as ours, which only delays.
//
// Two cheaper-looking rules are unsound and not used: paging by event_id
// with the same horizon skips an event whose transaction got its xid first
// but its event id later (TestFeedOrderSurvivesXidInversion); and taking
// whatever the reader's snapshot sees lets a late committer slip behind
// the cursor. The price: an event waits until every older transaction of
// the database has ended — milliseconds for the suite's short transactions
// — and readers that see such a held event (pending) read again shortly
// rather than waiting for a notification that may never come (see the
// feed hub).

// feedHorizon is the SQL of the place below which the feed is settled for
// the statement's snapshot (see above); used as a scalar subquery, it is
// evaluated once per statement.
const feedHorizon = `SELECT coalesce(
	(SELECT min(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x WHERE NOT EXISTS
		(SELECT 1 FROM pg_stat_activity a WHERE a.backend_xid = x::xid AND a.datname <> current_database())),
	pg_snapshot_xmax(pg_current_snapshot()))`

// FeedPos is a place in the feed order: the writing transaction's id, then
// the event id. The zero FeedPos is before every event.
type FeedPos struct {
	Xid uint64
	ID  int64
}

// Before reports whether p comes before q in the feed.
func (p FeedPos) Before(q FeedPos) bool {
	return p.Xid < q.Xid || p.Xid == q.Xid && p.ID < q.ID
}

// FeedEvent is a stored feed event with its place and its addressees.
type FeedEvent struct {
	Pos         FeedPos
	Group       domain.Group
	TargetAgent string
	Event       *convv1.FeedEvent
}

// For reports whether the event concerns an agent of group: addressed to
// them, to their group's queue, or to the whole shop (the filter Events
// applies for an agent).
func (e *FeedEvent) For(agentID string, group domain.Group) bool {
	if e.TargetAgent != "" {
		return e.TargetAgent == agentID
	}
	return e.Group == domain.GroupNone || e.Group == group
}

// InsertEvent writes a feed event in tx and has it announced (NOTIFY
// conversation_feed, payload the shop id) once committed. It takes no
// lock: the row's xid (its column default) places it in the feed order,
// and readers wait for it as described above.
//
// In a Store.Tx the announcement is sent after the commit rather than in
// the transaction: PostgreSQL serializes the commits of notifying
// transactions server-wide (a lock held from NOTIFY's queueing through the
// commit's WAL flush), which capped them near 500 a second on the
// development machine — about the rate one busy shop's chats need — while
// a NOTIFY on its own, committed without waiting for the flush, holds that
// lock only briefly. Other transactions (an inbox handler's) notify
// inside, delivered on commit.
func InsertEvent(ctx context.Context, tx pgx.Tx, shopID string, group domain.Group, targetAgent string, ev *convv1.FeedEvent) error {
	_, err := tx.Exec(ctx, `INSERT INTO feed_events (shop_id, grp, target_agent, session_id, created_at, doc) VALUES ($1,$2,$3,$4,$5,$6)`,
		shopID, int32(group), targetAgent, ev.SessionId, ev.OccurredAt.AsTime(), toJSON(ev))
	if err != nil {
		return err
	}
	if ftx, ok := tx.(*feedTx); ok {
		if !slices.Contains(ftx.shops, shopID) {
			ftx.shops = append(ftx.shops, shopID)
		}
		return nil
	}
	_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, FeedChannel, shopID)
	return err
}

// FeedRead says which events Events reads.
type FeedRead struct {
	ShopID string
	// AgentID, when set, keeps the events that concern this agent of Group
	// (FeedEvent.For); empty reads every event of the shop.
	AgentID string
	Group   domain.Group
	After   FeedPos // exclusive
	// Through, when set, is the last place read (a place already settled,
	// see ShopFeedHead); zero reads as far as is settled.
	Through FeedPos
	Limit   int
}

// Events returns up to r.Limit settled events of the shop after r.After,
// in feed order. pending reports that committed events follow which are
// not settled yet (an older transaction is still running): read again
// shortly, as no notification may announce their settling.
func Events(ctx context.Context, q Q, r FeedRead) (evs []*FeedEvent, pending bool, err error) {
	args := []any{r.ShopID, strconv.FormatUint(r.After.Xid, 10), r.After.ID}
	where := `shop_id = $1 AND (xid, event_id) > ($2::text::xid8, $3)`
	if r.Through != (FeedPos{}) {
		args = append(args, strconv.FormatUint(r.Through.Xid, 10), r.Through.ID)
		where += ` AND (xid, event_id) <= ($4::text::xid8, $5)`
	}
	if r.AgentID != "" {
		args = append(args, r.AgentID, int32(r.Group))
		n := len(args)
		where += fmt.Sprintf(` AND (target_agent = $%d OR target_agent = '' AND grp IN (0, $%d))`, n-1, n)
	}
	args = append(args, r.Limit)
	// The settled events sort before the unsettled ones (the test is on the
	// leading sort key), so one ordered read returns both in turn; the
	// unsettled ones only tell that there are some.
	rows, err := q.Query(ctx, `SELECT event_id, xid::text AS tx, grp, target_agent, doc,
		xid < (`+feedHorizon+`) AS settled
		FROM feed_events WHERE `+where+fmt.Sprintf(` ORDER BY xid, event_id LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			e       FeedEvent
			tx      string
			grp     int32
			doc     []byte
			settled bool
		)
		if err := rows.Scan(&e.Pos.ID, &tx, &grp, &e.TargetAgent, &doc, &settled); err != nil {
			return nil, false, err
		}
		if !settled {
			pending = true
			break
		}
		if e.Pos.Xid, err = strconv.ParseUint(tx, 10, 64); err != nil {
			return nil, false, fmt.Errorf("feed event %d: xid %q: %w", e.Pos.ID, tx, err)
		}
		e.Group = domain.Group(grp)
		e.Event = &convv1.FeedEvent{}
		if err := fromJSON(doc, e.Event); err != nil {
			return nil, false, err
		}
		e.Event.EventId = strconv.FormatInt(e.Pos.ID, 10)
		evs = append(evs, &e)
	}
	return evs, pending, rows.Err()
}

// ShopFeedHead is the place of the shop's newest settled event (zero when
// none): a feed starting "with new events only" reads after it, so an event
// of the shop still being committed — or committed but not settled — comes
// after it and is not skipped.
func ShopFeedHead(ctx context.Context, q Q, shopID string) (FeedPos, error) {
	var p FeedPos
	var tx string
	err := q.QueryRow(ctx, `SELECT xid::text AS tx, event_id FROM feed_events
		WHERE shop_id = $1 AND xid < (`+feedHorizon+`) ORDER BY xid DESC, event_id DESC LIMIT 1`, shopID).Scan(&tx, &p.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return FeedPos{}, nil
	}
	if err != nil {
		return FeedPos{}, err
	}
	p.Xid, err = strconv.ParseUint(tx, 10, 64)
	return p, err
}

// EventPos is the place of the event with this id (false when there is no
// such event, e.g. it was pruned): a watcher resumes after it.
func EventPos(ctx context.Context, q Q, eventID int64) (FeedPos, bool, error) {
	var tx string
	err := q.QueryRow(ctx, `SELECT xid::text FROM feed_events WHERE event_id = $1`, eventID).Scan(&tx)
	if errors.Is(err, pgx.ErrNoRows) {
		return FeedPos{}, false, nil
	}
	if err != nil {
		return FeedPos{}, false, err
	}
	x, err := strconv.ParseUint(tx, 10, 64)
	return FeedPos{Xid: x, ID: eventID}, err == nil, err
}

// EventBounds returns the newest event id and the oldest retained one (0, 0
// when none).
func EventBounds(ctx context.Context, q Q) (newest, oldest int64, err error) {
	err = q.QueryRow(ctx, `SELECT coalesce(max(event_id), 0), coalesce(min(event_id), 0) FROM feed_events`).Scan(&newest, &oldest)
	return newest, oldest, err
}

// PruneEvents drops events older than before (feed retention), a batch
// per transaction: feed readers wait for every running transaction of the
// database older than the events they are to take (see the feed's order
// above), so one long DELETE would stall every feed for its whole length.
func PruneEvents(ctx context.Context, q Q, before time.Time) (int64, error) {
	var n int64
	for {
		tag, err := q.Exec(ctx, `DELETE FROM feed_events WHERE event_id IN
			(SELECT event_id FROM feed_events WHERE created_at < $1 LIMIT $2)`, before, pruneBatch)
		n += tag.RowsAffected()
		if err != nil || tag.RowsAffected() < pruneBatch {
			return n, err
		}
	}
}

// pruneBatch is the most feed events one pruning transaction deletes.
const pruneBatch = 1000

// IdleSessions lists open sessions whose last activity is before cutoff and
// whose buyer is not awaiting a reply (the shop owes those an answer).
func IdleSessions(ctx context.Context, q Q, cutoff time.Time, limit int) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT session_id FROM sessions WHERE status <> 4 AND coalesce(last_message_at, opened_at) < $1
		AND NOT coalesce((doc->>'awaiting_reply')::boolean, false) ORDER BY opened_at LIMIT $2`, cutoff, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// AgentSessions lists the open sessions assigned to an agent (locked with
// forUpdate).
func AgentSessions(ctx context.Context, q Q, agentID string, forUpdate bool) ([]string, error) {
	sql := `SELECT session_id FROM sessions WHERE assigned_agent_id=$1 AND status=3 ORDER BY session_id`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	rows, err := q.Query(ctx, sql, agentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
