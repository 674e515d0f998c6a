package domain

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

// Prior is an earlier complaint of the same shop, as repeat detection needs it.
type Prior struct {
	ID          string
	CustomerIDs []string
	OrderID     string
	Category    Category
	FiledAt     time.Time
}

// DetectRepeats returns the earlier complaints the new one repeats: the same
// customer and the same order or the same category, filed within window
// before now; oldest first.
func DetectRepeats(customerIDs []string, orderID string, category Category, now time.Time, window time.Duration, earlier []Prior) []string {
	var hits []Prior
	for _, p := range earlier {
		if p.FiledAt.Before(now.Add(-window)) || p.FiledAt.After(now) {
			continue
		}
		shared := false
		for _, c := range p.CustomerIDs {
			if slices.Contains(customerIDs, c) {
				shared = true
				break
			}
		}
		if !shared {
			continue
		}
		if (orderID != "" && p.OrderID == orderID) || p.Category == category {
			hits = append(hits, p)
		}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		if !hits[i].FiledAt.Equal(hits[j].FiledAt) {
			return hits[i].FiledAt.Before(hits[j].FiledAt)
		}
		return hits[i].ID < hits[j].ID
	})
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	return ids
}

// ReviewInput is the review of a review complaint.
type ReviewInput struct {
	ReviewID   string
	Rating     int
	ReviewedAt time.Time
	Text       string
}

// Terms are the policy values a new complaint pins.
type Terms struct {
	PolicyVersion      string
	Limits             Limits
	SLA                SLA
	ReviewChangeWindow time.Duration
	RepeatWindow       time.Duration
}

// FileInput files a complaint.
type FileInput struct {
	ID                      string
	RequestID               string
	ShopID                  string
	CustomerIDs             []string
	OrderID                 string
	Category                Category
	Channel                 Channel
	Content                 string
	CustomerDemand          string
	DemandedCompensationFen int64
	SpecialKinds            []SpecialKind
	Severity                Severity
	Review                  *ReviewInput
	ReceivedAt              time.Time // zero → now
	FiledBy                 Actor
	Terms                   Terms
	Earlier                 []Prior // the shop's earlier complaints of these customers
}

// File records a new complaint: FILED at rung AGENT, with the kinds the
// rules add (MEDIA for the media channel, REPEAT when detected), MAJOR for
// media, group or a requested major, and a group complaint raised to the
// manager at once and marked as an incident.
func File(in FileInput, now time.Time) (*Complaint, error) {
	if !strings.HasPrefix(in.ID, "cmp_") || in.ShopID == "" {
		return nil, fmt.Errorf("file complaint: id %q shop %q: %w", in.ID, in.ShopID, errs.ErrInvalid)
	}
	if len(in.CustomerIDs) == 0 {
		return nil, errs.Field("customer_ids", "complaint.file.customers", "name at least one customer")
	}
	if in.Category < 1 || in.Category > categoryMax {
		return nil, errs.Field("category", "complaint.file.category", "unknown category %d", in.Category)
	}
	if in.Channel < ChannelChat || in.Channel > ChannelMedia {
		return nil, errs.Field("channel", "complaint.file.channel", "unknown channel %d", in.Channel)
	}
	if len([]rune(strings.TrimSpace(in.Content))) < minTextLen {
		return nil, errs.Field("content", "complaint.file.content", "content needs at least %d characters", minTextLen)
	}
	if (in.Channel == ChannelReview) != (in.Review != nil) {
		return nil, errs.Field("review", "complaint.file.review_channel", "channel REVIEW and the review reference go together")
	}
	if in.DemandedCompensationFen < 0 {
		return nil, errs.Field("demanded_compensation_fen", "complaint.file.demand", "must not be negative")
	}
	if in.ReceivedAt.IsZero() || in.ReceivedAt.After(now) {
		in.ReceivedAt = now
	}
	c := &Complaint{
		ID: in.ID, ShopID: in.ShopID, CustomerIDs: slices.Clone(in.CustomerIDs), OrderID: in.OrderID,
		Category: in.Category, Channel: in.Channel, Content: in.Content, CustomerDemand: in.CustomerDemand,
		DemandedCompensationFen: in.DemandedCompensationFen, Severity: SeverityNormal,
		State: Filed, Rung: identity.RankAgent, Limits: in.Terms.Limits, FiledBy: in.FiledBy,
		RequestID: in.RequestID, ReceivedAt: in.ReceivedAt, CreatedAt: now, UpdatedAt: now,
		PolicyVersion: in.Terms.PolicyVersion, SLA: in.Terms.SLA, Version: 1,
	}
	for _, k := range in.SpecialKinds {
		if k < KindEmotional || k > KindGroup {
			return nil, errs.Field("special_kinds", "complaint.file.kind", "unknown special kind %d", k)
		}
		c.addKind(k)
	}
	if c.hasKind(KindExcessiveCompensation) && c.DemandedCompensationFen <= 0 {
		return nil, errs.Field("demanded_compensation_fen", "complaint.file.excessive_demand", "EXCESSIVE_COMPENSATION needs demanded_compensation_fen > 0")
	}
	if err := c.checkGroup(); err != nil {
		return nil, err
	}
	if in.Review != nil {
		if in.Review.Rating < 1 || in.Review.Rating > 2 {
			return nil, errs.Field("review.rating", "complaint.file.review_rating", "only middle and bad reviews are complaints")
		}
		c.Review = &Review{
			ReviewID: in.Review.ReviewID, Rating: in.Review.Rating, ReviewedAt: in.Review.ReviewedAt, Text: in.Review.Text,
			HandlingDueAt:      now.Add(in.Terms.SLA.ReviewHandling),
			ChangeWindowEndsAt: in.Review.ReviewedAt.Add(in.Terms.ReviewChangeWindow),
		}
	}
	c.step(in.FiledBy, now, ActFiled, Filed, "filed via "+in.Channel.String())
	if in.Channel == ChannelMedia {
		c.addKind(KindMedia)
	}
	if links := DetectRepeats(c.CustomerIDs, c.OrderID, c.Category, now, in.Terms.RepeatWindow, in.Earlier); len(links) > 0 {
		c.addKind(KindRepeat)
		c.LinkedComplaintIDs = links
		c.step(in.FiledBy, now, ActRepeatLinked, Filed, "repeat of "+strings.Join(links, ", ")+": fix the root cause")
	}
	if in.Severity == SeverityMajor {
		c.makeMajor(now)
	}
	c.applyKindRules(in.FiledBy, now)
	return c, nil
}

func (c *Complaint) hasKind(k SpecialKind) bool { return slices.Contains(c.SpecialKinds, k) }

func (c *Complaint) addKind(k SpecialKind) {
	if !c.hasKind(k) {
		c.SpecialKinds = append(c.SpecialKinds, k)
		slices.Sort(c.SpecialKinds)
	}
}

func (c *Complaint) checkGroup() error {
	if c.hasKind(KindGroup) && len(c.CustomerIDs) < 2 {
		return errs.Field("customer_ids", "complaint.group_customers", "a GROUP complaint needs at least two customers")
	}
	if len(c.CustomerIDs) >= 2 && !c.hasKind(KindGroup) {
		return errs.Field("special_kinds", "complaint.customers_need_group", "several customers make a GROUP complaint: add special kind GROUP")
	}
	return nil
}

// Major reports whether the 1 h major-escalation rule applies.
func (c *Complaint) Major() bool { return c.Severity == SeverityMajor }

func (c *Complaint) makeMajor(at time.Time) {
	if c.Severity != SeverityMajor {
		c.Severity = SeverityMajor
		c.MajorSince = at
	}
}

// applyKindRules makes MEDIA and GROUP complaints major, media replies
// official only, and raises a group complaint to the manager at once.
func (c *Complaint) applyKindRules(by Actor, at time.Time) {
	if c.hasKind(KindMedia) {
		c.makeMajor(at)
		c.OfficialReplyOnly = true
	}
	if c.hasKind(KindGroup) {
		c.makeMajor(at)
		c.Incident = true
		if c.Rung < identity.RankManager {
			c.climb(by, at, identity.RankManager, ReasonGroupComplaint, "group complaint: raised to the manager at once and marked as an incident (emergency plan)")
		}
	}
}

// climb records one escalation; the caller checked to > rung.
func (c *Complaint) climb(by Actor, at time.Time, to identity.Rank, reason Reason, note string) {
	c.climbEsc(Escalation{By: by, At: at, To: to, Reason: reason, Note: note})
}

// climbEsc records one escalation e (From is set here).
func (c *Complaint) climbEsc(e Escalation) {
	e.From = c.Rung
	c.Escalations = append(c.Escalations, e)
	c.Rung = e.To
	c.step(e.By, e.At, ActEscalated, c.State, fmt.Sprintf("to %s (%s): %s", rankWord(e.To), e.Reason, e.Note))
}

// step appends to the history; the history is never rewritten.
func (c *Complaint) step(by Actor, at time.Time, act Action, to State, note string) {
	c.Steps = append(c.Steps, Step{At: at, Actor: by, Action: act, From: c.State, To: to, Note: note})
	c.State = to
	c.UpdatedAt = at
}

// Clone returns a deep copy (a dry run of a command must not touch the original).
func (c *Complaint) Clone() *Complaint {
	data, err := json.Marshal(c)
	if err != nil {
		panic("domain: complaint not encodable: " + err.Error())
	}
	var cp Complaint
	if err := json.Unmarshal(data, &cp); err != nil {
		panic("domain: complaint not decodable: " + err.Error())
	}
	return &cp
}

// Open reports whether the complaint is not closed.
func (c *Complaint) Open() bool { return c.State != Closed }

// PendingProposal returns the proposal awaiting the customer, if any.
func (c *Complaint) PendingProposal() *Proposal {
	for i := range c.Proposals {
		if c.Proposals[i].Outcome == OutcomePending {
			return &c.Proposals[i]
		}
	}
	return nil
}

func (c *Complaint) appealPending() bool { return c.Appeal != nil && c.Appeal.Outcome == AppealPending }

// Paused reports whether the agent's clocks stand still and why.
func (c *Complaint) Paused() (bool, string) {
	if p := c.PendingProposal(); p != nil && c.State == ResolutionProposed {
		return true, pauseCustomer + p.ID
	}
	if c.appealPending() {
		return true, pausePlatform
	}
	return false, ""
}

// WhoseMove says who must act next.
func (c *Complaint) WhoseMove() Party {
	switch {
	case c.State == Closed:
		return PartyNone
	case c.State == ResolutionProposed:
		return PartyBuyer
	case c.appealPending():
		return PartyPlatform
	}
	return PartySeller
}

// AuthorityLimit is the compensation limit of the current rung.
func (c *Complaint) AuthorityLimit() int64 { return c.Limits.For(c.Rung) }

// VisibleTo reports whether the actor may see the complaint: the shop's
// agents, the customers it names, the platform and our services.
func (c *Complaint) VisibleTo(a Actor) bool {
	switch a.Role {
	case identity.RoleAgent:
		return a.ShopID == c.ShopID
	case identity.RoleBuyer:
		return slices.Contains(c.CustomerIDs, a.Subject)
	case identity.RolePlatform, identity.RoleService:
		return true
	}
	return false
}

func (c *Complaint) isHandler(agentID string) bool {
	for _, h := range c.Handlers {
		if h.AgentID == agentID {
			return true
		}
	}
	return false
}

func (c *Complaint) addHandler(by Actor, at time.Time, agentID string, rank identity.Rank, viaEscalation bool) {
	if c.isHandler(agentID) {
		return
	}
	c.Handlers = append(c.Handlers, Handler{AgentID: agentID, Rank: rank, AddedAt: at, ViaEscalation: viaEscalation})
	if viaEscalation {
		c.step(by, at, ActHandlerAdded, c.State, fmt.Sprintf("%s (%s) joined", agentID, rankWord(rank)))
	}
}

// authorizeAgent lets the shop's agents act: anyone before the first
// response; afterwards the owner, the handlers and agents of rank at least
// the current rung and above the plain agent rank — such an agent acting
// for the first time joins as a higher-rank handler (escalation adds
// people, it never moves ownership; a peer agent cannot take it over).
func (c *Complaint) authorizeAgent(a Actor, at time.Time) error {
	if a.Role != identity.RoleAgent || a.ShopID != c.ShopID {
		return fmt.Errorf("%w: only the shop's agents act on complaint %s", errs.ErrPermissionDenied, c.ID)
	}
	if c.OwnerAgentID == "" || a.Subject == c.OwnerAgentID || c.isHandler(a.Subject) {
		return nil
	}
	if a.Rank >= c.Rung && a.Rank > identity.RankAgent {
		c.addHandler(a, at, a.Subject, a.Rank, true)
		return nil
	}
	return fmt.Errorf("%w: complaint %s is owned by %s at rung %s; only its owner, its handlers and agents of rank %s or above act on it",
		errs.ErrPermissionDenied, c.ID, c.OwnerAgentID, rankWord(c.Rung), rankWord(max(c.Rung, identity.RankSeniorAgent)))
}

func (c *Complaint) requireState(cmd string, allowed ...State) error {
	if !slices.Contains(allowed, c.State) {
		names := make([]string, len(allowed))
		for i, s := range allowed {
			names[i] = string(s)
		}
		return errs.Precondition("complaint is %s; %s needs %s", c.State, cmd, strings.Join(names, " or "))
	}
	return nil
}

func textOK(field, rule, s string) error {
	if len([]rune(strings.TrimSpace(s))) < minTextLen {
		return errs.Field(field, rule, "needs at least %d characters", minTextLen)
	}
	return nil
}
