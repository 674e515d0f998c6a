package domain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/conversation/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/errs"
)

func TestRouteAndPriority(t *testing.T) {
	cases := []struct {
		wish  domain.Group
		topic domain.Topic
		group domain.Group
		prio  domain.Priority
	}{
		{domain.GroupNone, domain.TopicProductInquiry, domain.GroupPreSale, domain.PriorityRoutine},
		{domain.GroupNone, domain.TopicUnspecified, domain.GroupPreSale, domain.PriorityRoutine},
		{domain.GroupNone, domain.TopicAfterSale, domain.GroupAfterSale, domain.PriorityRoutine},
		{domain.GroupNone, domain.TopicComplaint, domain.GroupAfterSale, domain.PriorityRoutine},
		{domain.GroupNone, domain.TopicWrongOrder, domain.GroupPreSale, domain.PriorityUrgent},
		{domain.GroupNone, domain.TopicLogisticsException, domain.GroupPreSale, domain.PriorityUrgent},
		{domain.GroupAfterSale, domain.TopicPricePromotion, domain.GroupAfterSale, domain.PriorityRoutine},
		{domain.GroupGeneral, domain.TopicLogisticsException, domain.GroupGeneral, domain.PriorityUrgent},
	}
	for _, c := range cases {
		if g := domain.Route(c.wish, c.topic); g != c.group {
			t.Errorf("Route(%v,%v) = %v, want %v", c.wish, c.topic, g, c.group)
		}
		if p := domain.PriorityFor(c.topic); p != c.prio {
			t.Errorf("PriorityFor(%v) = %v, want %v", c.topic, p, c.prio)
		}
	}
	if domain.ClassifyText("收到的杯子碎了，想退款") != domain.GroupAfterSale || domain.ClassifyText("这款有XL码吗") != domain.GroupPreSale {
		t.Error("ClassifyText")
	}
}

func TestPickAgentLeastLoadedAccepting(t *testing.T) {
	agents := []domain.Agent{
		{ID: "a1", Group: domain.GroupPreSale, Status: domain.AgentOnline, MaxActive: 2, Active: 2}, // full
		{ID: "a2", Group: domain.GroupPreSale, Status: domain.AgentBusy, MaxActive: 5, Active: 0},   // busy
		{ID: "a3", Group: domain.GroupPreSale, Status: domain.AgentOnline, MaxActive: 5, Active: 3},
		{ID: "a4", Group: domain.GroupPreSale, Status: domain.AgentOnline, MaxActive: 5, Active: 1},
		{ID: "b1", Group: domain.GroupAfterSale, Status: domain.AgentOnline, MaxActive: 5, Active: 0}, // other group
	}
	if a, ok := domain.PickAgent(agents, domain.GroupPreSale, ""); !ok || a.ID != "a4" {
		t.Fatalf("picked %v %v, want a4", a.ID, ok)
	}
	if a, ok := domain.PickAgent(agents, domain.GroupPreSale, "a4"); !ok || a.ID != "a3" {
		t.Fatalf("excluding a4 picked %v, want a3", a.ID)
	}
	if _, ok := domain.PickAgent(agents[:2], domain.GroupPreSale, ""); ok {
		t.Fatal("nobody accepting, but picked")
	}
}

func isKind(err, kind error) bool { return errors.Is(err, kind) }

func TestSessionStateMachine(t *testing.T) {
	online := domain.Agent{ID: "a1", ShopID: "s", Group: domain.GroupPreSale, Rank: domain.RankAgent, Status: domain.AgentOnline, MaxActive: 3}
	waiting := domain.Session{ID: "ses_1", ShopID: "s", BuyerID: "b", Group: domain.GroupPreSale, Status: domain.StatusWaiting}
	if mine, err := waiting.CheckAccept(online, false); err != nil || mine {
		t.Fatalf("accept waiting: %v %v", mine, err)
	}
	busy := online
	busy.Status = domain.AgentBusy
	if _, err := waiting.CheckAccept(busy, false); !isKind(err, errs.ErrFailedPrecondition) {
		t.Fatalf("busy agent accepted: %v", err)
	}
	full := online
	full.Active = 3
	if _, err := waiting.CheckAccept(full, false); !isKind(err, errs.ErrFailedPrecondition) {
		t.Fatalf("full agent accepted: %v", err)
	}
	other := online
	other.Group = domain.GroupAfterSale
	if _, err := waiting.CheckAccept(other, false); !isKind(err, errs.ErrFailedPrecondition) {
		t.Fatalf("other group accepted: %v", err)
	}
	if _, err := waiting.CheckAccept(other, true); err != nil {
		t.Fatalf("supervisor of another group: %v", err)
	}
	active := waiting
	active.Status, active.AssignedAgentID = domain.StatusActive, "a2"
	if _, err := active.CheckAccept(online, false); !isKind(err, errs.ErrFailedPrecondition) {
		t.Fatalf("took someone else's session: %v", err)
	}
	active.AssignedAgentID = "a1"
	if mine, err := active.CheckAccept(online, false); err != nil || !mine {
		t.Fatalf("own session: %v %v", mine, err)
	}
	closed := waiting
	closed.Status = domain.StatusClosed
	if err := closed.CheckOpen(); !isKind(err, errs.ErrFailedPrecondition) {
		t.Fatal("closed session is open")
	}
	if _, err := closed.CheckAccept(online, false); !isKind(err, errs.ErrFailedPrecondition) {
		t.Fatal("accepted a closed session")
	}

	buyer := domain.Actor{ID: "b", Buyer: true}
	otherBuyer := domain.Actor{ID: "x", Buyer: true}
	assigned := domain.Actor{ID: "a1", Agent: true, Rank: domain.RankAgent, ShopID: "s"}
	colleague := domain.Actor{ID: "a9", Agent: true, Rank: domain.RankSeniorAgent, ShopID: "s"}
	supervisor := domain.Actor{ID: "sup", Agent: true, Rank: domain.RankSupervisor, ShopID: "s"}
	foreign := domain.Actor{ID: "sup2", Agent: true, Rank: domain.RankManager, ShopID: "other"}
	for _, c := range []struct {
		a    domain.Actor
		want bool
	}{{buyer, true}, {otherBuyer, false}, {assigned, true}, {colleague, false}, {supervisor, true}, {foreign, false}} {
		if got := active.CanWrite(c.a); got != c.want {
			t.Errorf("CanWrite(%s) = %v, want %v", c.a.ID, got, c.want)
		}
	}
}

func TestRatingRules(t *testing.T) {
	closedAt := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	s := domain.Session{ID: "ses_1", BuyerID: "b", Status: domain.StatusClosed, ClosedAt: closedAt, FirstResponseAt: closedAt.Add(-time.Hour)}
	week := 7 * 24 * time.Hour
	if err := s.CheckRate("b", 5, closedAt.Add(time.Hour), week); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckRate("b", 5, closedAt.Add(week), week); err != nil {
		t.Fatalf("last instant of the window: %v", err)
	}
	if err := s.CheckRate("b", 5, closedAt.Add(week+time.Second), week); !isKind(err, errs.ErrFailedPrecondition) {
		t.Fatalf("after the window: %v", err)
	}
	for _, score := range []int{0, 6, -1} {
		var fe *errs.FieldError
		if err := s.CheckRate("b", score, closedAt, week); !errors.As(err, &fe) || fe.Field != "score" {
			t.Fatalf("score %d: %v", score, err)
		}
	}
	if err := s.CheckRate("x", 5, closedAt, week); !isKind(err, errs.ErrNotFound) {
		t.Fatalf("other buyer: %v", err)
	}
	rated := s
	rated.Rated = true
	if err := rated.CheckRate("b", 4, closedAt, week); !isKind(err, errs.ErrAlreadyExists) {
		t.Fatalf("twice: %v", err)
	}
	open := s
	open.Status = domain.StatusActive
	if err := open.CheckRate("b", 4, closedAt, week); !isKind(err, errs.ErrFailedPrecondition) {
		t.Fatalf("open session: %v", err)
	}
	silent := s
	silent.FirstResponseAt = time.Time{}
	if err := silent.CheckRate("b", 4, closedAt, week); !isKind(err, errs.ErrFailedPrecondition) {
		t.Fatalf("no agent reply: %v", err)
	}
}

func TestTransferRules(t *testing.T) {
	s := domain.Session{ID: "ses_1", ShopID: "s", BuyerID: "b", Group: domain.GroupPreSale, Status: domain.StatusActive, AssignedAgentID: "a1"}
	agent := domain.Actor{ID: "a1", Agent: true, Rank: domain.RankAgent, Group: domain.GroupPreSale, ShopID: "s"}
	colleague := domain.Actor{ID: "a2", Agent: true, Rank: domain.RankAgent, Group: domain.GroupPreSale, ShopID: "s"}
	supervisor := domain.Actor{ID: "sup", Agent: true, Rank: domain.RankSupervisor, Group: domain.GroupPreSale, ShopID: "s"}
	peer := &domain.Agent{ID: "a2", ShopID: "s", Group: domain.GroupPreSale, Rank: domain.RankAgent, Status: domain.AgentOnline, MaxActive: 5}
	senior := &domain.Agent{ID: "sen", ShopID: "s", Group: domain.GroupPreSale, Rank: domain.RankSeniorAgent, Status: domain.AgentOnline, MaxActive: 5}
	seniorAway := &domain.Agent{ID: "sen2", ShopID: "s", Group: domain.GroupPreSale, Rank: domain.RankSeniorAgent, Status: domain.AgentAway, MaxActive: 5}
	seniorOffline := &domain.Agent{ID: "sen3", ShopID: "s", Group: domain.GroupPreSale, Rank: domain.RankSeniorAgent, Status: domain.AgentOffline, MaxActive: 5}
	seniorFull := &domain.Agent{ID: "sen4", ShopID: "s", Group: domain.GroupPreSale, Rank: domain.RankSeniorAgent, Status: domain.AgentOnline, MaxActive: 2, Active: 2}
	afterSale := &domain.Agent{ID: "as1", ShopID: "s", Group: domain.GroupAfterSale, Rank: domain.RankAgent, Status: domain.AgentOnline, MaxActive: 5}

	field := func(err error) string {
		var fe *errs.FieldError
		if errors.As(err, &fe) {
			return fe.Field
		}
		return ""
	}
	cases := []struct {
		name  string
		by    domain.Actor
		req   domain.TransferRequest
		field string
		kind  error
		to    domain.Group
	}{
		{"pre-sale hands an after-sale question over with context", agent, domain.TransferRequest{ToGroup: domain.GroupAfterSale, Reason: domain.ReasonAfterSaleQuestion, Summary: "买家问退货运费"}, "", nil, domain.GroupAfterSale},
		{"to after-sale without a summary", agent, domain.TransferRequest{ToGroup: domain.GroupAfterSale, Reason: domain.ReasonWrongGroup}, "summary", nil, 0},
		{"after-sale question sent elsewhere", agent, domain.TransferRequest{ToGroup: domain.GroupGeneral, Reason: domain.ReasonAfterSaleQuestion, Summary: "x"}, "to_group", nil, 0},
		{"no reason", agent, domain.TransferRequest{ToGroup: domain.GroupAfterSale, Summary: "x"}, "reason", nil, 0},
		{"OTHER without note", agent, domain.TransferRequest{ToGroup: domain.GroupGeneral, Reason: domain.ReasonOther}, "note", nil, 0},
		{"agent passes own customer to a peer", agent, domain.TransferRequest{ToAgent: peer, Reason: domain.ReasonAgentOverloaded}, "to_agent_id", nil, 0},
		{"agent escalates to a peer", agent, domain.TransferRequest{ToAgent: peer, Reason: domain.ReasonEscalation}, "to_agent_id", nil, 0},
		{"agent escalates to a senior", agent, domain.TransferRequest{ToAgent: senior, Reason: domain.ReasonEscalation}, "", nil, domain.GroupPreSale},
		{"escalation target away", agent, domain.TransferRequest{ToAgent: seniorAway, Reason: domain.ReasonEscalation}, "", errs.ErrFailedPrecondition, 0},
		{"supervisor assigns to an away agent", supervisor, domain.TransferRequest{ToAgent: seniorAway, Reason: domain.ReasonAgentOverloaded}, "", nil, domain.GroupPreSale},
		// an OFFLINE agent keeps no sessions (going offline releases them), so
		// nobody, a supervisor neither, parks a buyer with one
		{"supervisor assigns to an offline agent", supervisor, domain.TransferRequest{ToAgent: seniorOffline, Reason: domain.ReasonAgentOverloaded}, "", errs.ErrFailedPrecondition, 0},
		{"supervisor assigns beyond capacity", supervisor, domain.TransferRequest{ToAgent: seniorFull, Reason: domain.ReasonAgentOverloaded}, "", nil, domain.GroupPreSale},
		{"colleague takes someone else's customer", colleague, domain.TransferRequest{ToGroup: domain.GroupGeneral, Reason: domain.ReasonWrongGroup}, "", errs.ErrFailedPrecondition, 0},
		{"supervisor reassigns any", supervisor, domain.TransferRequest{ToAgent: afterSale, Reason: domain.ReasonAfterSaleQuestion, Summary: "退款"}, "", nil, domain.GroupAfterSale},
		{"target group differs from target agent's", supervisor, domain.TransferRequest{ToGroup: domain.GroupGeneral, ToAgent: afterSale, Reason: domain.ReasonWrongGroup}, "to_group", nil, 0},
		{"to the agent who has it", supervisor, domain.TransferRequest{ToAgent: &domain.Agent{ID: "a1", ShopID: "s", Group: domain.GroupPreSale, Status: domain.AgentOnline, MaxActive: 5}, Reason: domain.ReasonOther, Note: "x"}, "to_agent_id", nil, 0},
		{"agent of another shop", supervisor, domain.TransferRequest{ToAgent: &domain.Agent{ID: "z", ShopID: "t", Group: domain.GroupPreSale}, Reason: domain.ReasonOther, Note: "x"}, "", errs.ErrNotFound, 0},
	}
	for _, c := range cases {
		plan, err := domain.PlanTransfer(s, c.by, c.req)
		switch {
		case c.field != "":
			if f := field(err); f != c.field {
				t.Errorf("%s: err %v (field %q), want field %q", c.name, err, f, c.field)
			}
		case c.kind != nil:
			if !errors.Is(err, c.kind) {
				t.Errorf("%s: err %v, want %v", c.name, err, c.kind)
			}
		default:
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			} else if plan.ToGroup != c.to || plan.FromAgent != "a1" || plan.FromGroup != domain.GroupPreSale {
				t.Errorf("%s: plan %+v", c.name, plan)
			}
		}
	}
	closed := s
	closed.Status = domain.StatusClosed
	if _, err := domain.PlanTransfer(closed, supervisor, domain.TransferRequest{ToGroup: domain.GroupGeneral, Reason: domain.ReasonWrongGroup}); !errors.Is(err, errs.ErrFailedPrecondition) {
		t.Errorf("closed session transferred: %v", err)
	}
	queued := domain.Session{ID: "ses_2", ShopID: "s", Group: domain.GroupPreSale, Status: domain.StatusWaiting}
	if _, err := domain.PlanTransfer(queued, supervisor, domain.TransferRequest{ToGroup: domain.GroupPreSale, Reason: domain.ReasonWrongGroup}); !errors.Is(err, errs.ErrFailedPrecondition) {
		t.Errorf("re-queued into the same queue: %v", err)
	}
	if _, err := domain.PlanTransfer(s, domain.Actor{}, domain.TransferRequest{ToGroup: domain.GroupPreSale, Reason: domain.ReasonAgentOffShift, ByService: true}); err != nil {
		t.Errorf("service release: %v", err)
	}
}

func TestAvailabilityAndQueueText(t *testing.T) {
	if err := domain.CheckAvailability(domain.AgentOffline, 2, false); !errors.Is(err, errs.ErrFailedPrecondition) {
		t.Fatalf("offline with sessions: %v", err)
	}
	if err := domain.CheckAvailability(domain.AgentOffline, 2, true); err != nil {
		t.Fatal(err)
	}
	if err := domain.CheckAvailability(domain.AgentBusy, 2, false); err != nil {
		t.Fatal(err)
	}
	if got := domain.QueueText("您前面还有{position}位", 3); got != "您前面还有3位" {
		t.Fatal(got)
	}
}
