// Package domain holds the conversation rules (DOMAIN.md §2), free of
// proto, pgx and gRPC: the phrase check (禁忌用语), routing by topic and
// priority, the session state machine, transfer rules, CSAT rules and agent
// capacity. The enums carry the numbers of the contract's enums so the
// mapping layer is a conversion, but nothing here imports the contract.
package domain

import (
	"strconv"
	"strings"
	"time"

	"github.com/kefu-suite/kefu/services/platform/errs"
)

// Group of agents (numbers as shop.common.v1.AgentGroup).
type Group int32

// Groups.
const (
	GroupNone      Group = 0
	GroupPreSale   Group = 1
	GroupAfterSale Group = 2
	GroupGeneral   Group = 3
)

func (g Group) String() string {
	switch g {
	case GroupPreSale:
		return "PRE_SALE"
	case GroupAfterSale:
		return "AFTER_SALE"
	case GroupGeneral:
		return "GENERAL"
	}
	return "NONE"
}

// Rank of an agent (numbers as shop.common.v1.AgentRank).
type Rank int32

// Ranks.
const (
	RankNone Rank = iota
	RankAgent
	RankSeniorAgent
	RankSupervisor
	RankManager
)

// Status of a session (numbers as SessionStatus).
type Status int32

// Statuses.
const (
	StatusBot     Status = 1
	StatusWaiting Status = 2
	StatusActive  Status = 3
	StatusClosed  Status = 4
)

func (s Status) String() string {
	return [...]string{"UNSPECIFIED", "BOT", "WAITING", "ACTIVE", "CLOSED"}[min(max(int(s), 0), 4)]
}

// Priority of a session (numbers as SessionPriority).
type Priority int32

// Priorities.
const (
	PriorityRoutine Priority = 1
	PriorityUrgent  Priority = 2
)

// Topic of a session (numbers as SessionTopic).
type Topic int32

// Topics.
const (
	TopicUnspecified        Topic = 0
	TopicProductInquiry     Topic = 1
	TopicPricePromotion     Topic = 2
	TopicOrderStatus        Topic = 3
	TopicOrderChange        Topic = 4
	TopicWrongOrder         Topic = 5
	TopicLogisticsException Topic = 6
	TopicAfterSale          Topic = 7
	TopicComplaint          Topic = 8
	TopicPaymentInvoice     Topic = 9
	TopicOther              Topic = 10
)

// TransferReason (numbers as TransferReason).
type TransferReason int32

// Transfer reasons.
const (
	ReasonAfterSaleQuestion TransferReason = 1
	ReasonPreSaleQuestion   TransferReason = 2
	ReasonEscalation        TransferReason = 3
	ReasonAgentOffShift     TransferReason = 4
	ReasonAgentOverloaded   TransferReason = 5
	ReasonWrongGroup        TransferReason = 6
	ReasonOther             TransferReason = 7
)

// AgentStatus (numbers as AgentStatus).
type AgentStatus int32

// Agent statuses.
const (
	AgentOnline  AgentStatus = 1
	AgentBusy    AgentStatus = 2
	AgentAway    AgentStatus = 3
	AgentOffline AgentStatus = 4
)

// Route decides the group serving a new session: the buyer's wish if given,
// else after-sale for after-sale and complaint topics (售后问题归售后), else
// pre-sale.
func Route(requested Group, topic Topic) Group {
	if requested != GroupNone {
		return requested
	}
	switch topic {
	case TopicAfterSale, TopicComplaint:
		return GroupAfterSale
	}
	return GroupPreSale
}

// PriorityFor: wrong orders and logistics exceptions are urgent (served
// before routine questions).
func PriorityFor(topic Topic) Priority {
	if topic == TopicWrongOrder || topic == TopicLogisticsException {
		return PriorityUrgent
	}
	return PriorityRoutine
}

var afterSaleWords = []string{"退货", "退款", "换货", "售后", "维修", "补发", "投诉", "质量问题", "坏了", "破损", "少件", "发错", "维权"}

// ClassifyText routes free text (an offline message) like a session topic:
// after-sale words send it to after-sale, anything else to pre-sale.
func ClassifyText(text string) Group {
	for _, w := range afterSaleWords {
		if strings.Contains(text, w) {
			return GroupAfterSale
		}
	}
	return GroupPreSale
}

// Agent is an agent's availability as routing sees it.
type Agent struct {
	ID        string
	ShopID    string
	Group     Group
	Rank      Rank
	Status    AgentStatus
	MaxActive int
	Active    int
}

// Accepting: ONLINE with spare capacity.
func (a Agent) Accepting() bool { return a.Status == AgentOnline && a.Active < a.MaxActive }

// PickAgent chooses who routing assigns a session to: an accepting agent of
// the group with the fewest active sessions (ties by id, so it is
// deterministic); ok false when nobody can take it.
func PickAgent(candidates []Agent, group Group, exclude string) (Agent, bool) {
	var best Agent
	found := false
	for _, a := range candidates {
		if a.Group != group || !a.Accepting() || a.ID == exclude {
			continue
		}
		if !found || a.Active < best.Active || a.Active == best.Active && a.ID < best.ID {
			best, found = a, true
		}
	}
	return best, found
}

// Session is the part of a session the rules decide on.
type Session struct {
	ID              string
	ShopID          string
	BuyerID         string
	Group           Group
	Status          Status
	AssignedAgentID string
	FirstResponseAt time.Time
	ClosedAt        time.Time
	Rated           bool
}

// Actor is who acts, as the rules need it.
type Actor struct {
	ID     string
	Buyer  bool
	Agent  bool
	Rank   Rank
	Group  Group
	ShopID string
}

// Supervisor: supervisor (客服主管) or manager.
func (a Actor) Supervisor() bool { return a.Agent && a.Rank >= RankSupervisor }

// CanWrite: the session's buyer, its assigned agent, or a supervisor+ of
// its shop may write into it (send, close).
func (s Session) CanWrite(a Actor) bool {
	switch {
	case a.Buyer:
		return a.ID == s.BuyerID
	case a.Agent:
		return a.ShopID == s.ShopID && (a.ID == s.AssignedAgentID || a.Supervisor())
	}
	return false
}

// CheckOpen refuses anything on a closed session.
func (s Session) CheckOpen() error {
	if s.Status == StatusClosed {
		return errs.Precondition("session %s is CLOSED", s.ID)
	}
	return nil
}

// CheckAccept: an agent of the session's group (or a supervisor+), ONLINE
// with spare capacity, takes a BOT or WAITING session. Taking one's own
// ACTIVE session again is a no-op (alreadyMine).
func (s Session) CheckAccept(a Agent, supervisor bool) (alreadyMine bool, err error) {
	switch s.Status {
	case StatusClosed:
		return false, errs.Precondition("session %s is CLOSED", s.ID)
	case StatusActive:
		if s.AssignedAgentID == a.ID {
			return true, nil
		}
		return false, errs.Precondition("session %s is ACTIVE with agent %s; ask for a transfer", s.ID, s.AssignedAgentID)
	}
	if a.Group != s.Group && !supervisor {
		return false, errs.Precondition("session %s is queued for group %s, not %s", s.ID, s.Group, a.Group)
	}
	if !a.Accepting() {
		return false, errs.Precondition("agent %s is not accepting sessions (must be ONLINE with capacity: %d of %d active)", a.ID, a.Active, a.MaxActive)
	}
	return false, nil
}

// CheckRate: the session's buyer rates (1–5) a CLOSED session once an agent
// has replied, once, within window after the close.
func (s Session) CheckRate(buyerID string, score int, now time.Time, window time.Duration) error {
	if score < 1 || score > 5 {
		return errs.Field("score", "conversation.rating_score", "score must be 1 to 5")
	}
	if buyerID != s.BuyerID {
		return errs.NotFound("session", s.ID)
	}
	if s.Rated {
		return errs.ErrAlreadyExists
	}
	if s.Status != StatusClosed {
		return errs.Precondition("session %s is %s; it can be rated after it is closed", s.ID, s.Status)
	}
	if s.FirstResponseAt.IsZero() {
		return errs.Precondition("session %s had no agent reply to rate", s.ID)
	}
	if now.After(s.ClosedAt.Add(window)) {
		return errs.Precondition("the rating window of session %s ended at %s", s.ID, s.ClosedAt.Add(window).Format(time.RFC3339))
	}
	return nil
}

// TransferRequest is a transfer as asked.
type TransferRequest struct {
	ToGroup   Group
	ToAgent   *Agent // the named target, looked up; nil when none named
	Reason    TransferReason
	Note      string
	Summary   string
	ByService bool // the service releasing an offline agent's sessions
}

// TransferPlan is what a valid transfer does.
type TransferPlan struct {
	FromGroup Group
	FromAgent string
	ToGroup   Group
	ToAgent   string // empty: the group's queue (routing may still pick one)
}

// PlanTransfer applies the transfer rules: never silently (a reason is
// mandatory; OTHER needs a note); pre-sale → after-sale carries a summary
// (售前转售后带上下文); an AFTER_SALE_QUESTION goes to after-sale and a
// PRE_SALE_QUESTION to pre-sale; rank AGENT transfers only sessions assigned
// to them and names a target agent only to escalate to a higher rank;
// supervisors+ reassign any session of their shop; a named target must be
// ONLINE with capacity unless a supervisor+ asks, and never OFFLINE (an
// OFFLINE agent holds no sessions); not to oneself.
func PlanTransfer(s Session, by Actor, req TransferRequest) (TransferPlan, error) {
	if err := s.CheckOpen(); err != nil {
		return TransferPlan{}, err
	}
	if req.Reason < ReasonAfterSaleQuestion || req.Reason > ReasonOther {
		return TransferPlan{}, errs.Field("reason", "conversation.transfer_reason", "a transfer needs a reason")
	}
	if req.Reason == ReasonOther && strings.TrimSpace(req.Note) == "" {
		return TransferPlan{}, errs.Field("note", "conversation.transfer.note", "reason OTHER needs a note")
	}
	to := req.ToGroup
	if req.ToAgent != nil {
		if to != GroupNone && to != req.ToAgent.Group {
			return TransferPlan{}, errs.Field("to_group", "conversation.transfer.target_group", "agent %s is in group %s, not %s", req.ToAgent.ID, req.ToAgent.Group, to)
		}
		to = req.ToAgent.Group
		if req.ToAgent.ShopID != s.ShopID {
			return TransferPlan{}, errs.NotFound("agent", req.ToAgent.ID)
		}
	}
	if to == GroupNone {
		return TransferPlan{}, errs.Field("to_group", "conversation.transfer.target", "a transfer must name a target group or agent")
	}
	switch req.Reason {
	case ReasonAfterSaleQuestion:
		if to != GroupAfterSale {
			return TransferPlan{}, errs.Field("to_group", "conversation.transfer.after_sale_target", "an after-sale question goes to AFTER_SALE")
		}
	case ReasonPreSaleQuestion:
		if to != GroupPreSale {
			return TransferPlan{}, errs.Field("to_group", "conversation.transfer.pre_sale_target", "a pre-sale question goes to PRE_SALE")
		}
	}
	if to == GroupAfterSale && s.Group != GroupAfterSale && strings.TrimSpace(req.Summary) == "" {
		return TransferPlan{}, errs.Field("summary", "conversation.transfer.handover_summary", "a handover to after-sale needs a summary of the conversation")
	}
	plan := TransferPlan{FromGroup: s.Group, FromAgent: s.AssignedAgentID, ToGroup: to}
	if req.ToAgent != nil {
		plan.ToAgent = req.ToAgent.ID
		if plan.ToAgent == s.AssignedAgentID {
			return TransferPlan{}, errs.Field("to_agent_id", "conversation.transfer.same_agent", "the session is already with %s", plan.ToAgent)
		}
	} else if to == s.Group && s.AssignedAgentID == "" {
		return TransferPlan{}, errs.Precondition("session %s is already queued for %s", s.ID, to)
	}
	if req.ByService {
		return plan, nil
	}
	if !by.Agent || by.ShopID != s.ShopID {
		return TransferPlan{}, errs.ErrPermissionDenied
	}
	supervisor := by.Supervisor()
	if !supervisor {
		if s.AssignedAgentID != by.ID {
			return TransferPlan{}, errs.Precondition("only the assigned agent or a supervisor may transfer session %s", s.ID)
		}
		if req.ToAgent != nil && (req.Reason != ReasonEscalation || req.ToAgent.Rank <= by.Rank) {
			return TransferPlan{}, errs.Field("to_agent_id", "conversation.transfer.agent_target",
				"an agent names a target agent only to escalate (reason ESCALATION) to a higher rank; transfer to the group's queue instead")
		}
	}
	if req.ToAgent != nil && req.ToAgent.Status == AgentOffline {
		// OFFLINE agents hold no sessions (going offline releases them): a
		// session given to one would wait for nobody
		return TransferPlan{}, errs.Precondition("agent %s is OFFLINE; transfer to the group's queue or to an agent at work", req.ToAgent.ID)
	}
	if req.ToAgent != nil && !supervisor && !req.ToAgent.Accepting() {
		return TransferPlan{}, errs.Precondition("agent %s is not accepting sessions (must be ONLINE with capacity)", req.ToAgent.ID)
	}
	return plan, nil
}

// CheckAvailability: going OFFLINE with open sessions needs release.
func CheckAvailability(status AgentStatus, active int, release bool) error {
	if status == AgentOffline && active > 0 && !release {
		return errs.Precondition("agent has %d open sessions; set release_sessions to return them to the queue", active)
	}
	return nil
}

// QueueText fills the queue auto-reply's {position}.
func QueueText(tmpl string, position int) string {
	return strings.ReplaceAll(tmpl, "{position}", strconv.Itoa(position))
}
