package grpcapi_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	complaintv1 "github.com/kefu-suite/kefu/proto/gen/shop/complaint/v1"
	"github.com/kefu-suite/kefu/services/complaint/internal/app"
	"github.com/kefu-suite/kefu/services/complaint/internal/domain"
	"github.com/kefu-suite/kefu/services/complaint/internal/grpcapi"
	"github.com/kefu-suite/kefu/services/complaint/internal/store"
	"github.com/kefu-suite/kefu/services/complaint/migrations"
	"github.com/kefu-suite/kefu/services/platform/errs"
	"github.com/kefu-suite/kefu/services/platform/grpctest"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
	"github.com/kefu-suite/kefu/services/platform/pgtest"
	"github.com/kefu-suite/kefu/services/platform/requests"
	"github.com/kefu-suite/kefu/services/platform/temporalx"
	wflifecycle "github.com/kefu-suite/kefu/workflows/lifecycle"
	"github.com/kefu-suite/kefu/workflows/policy"
	"github.com/kefu-suite/kefu/workflows/queues"
)

// env is the real thing, in-process: PostgreSQL, a Temporal dev server, the
// shared clock runner (workflows/lifecycle) on the workflow queue, the
// service's runner activities and its gRPC server on a loopback listener
// with the identity and validation interceptors.
type env struct {
	api complaintv1.ComplaintServiceClient
	tc  client.Client
	svc *app.Service
	pol *policy.Policy
}

// orders stands in for the order service (another process, tested there):
// order id → shop and buyer.
type orders map[string][2]string

func (o orders) Owner(_ context.Context, id string) (string, string, error) {
	if v, ok := o[id]; ok {
		return v[0], v[1], nil
	}
	return "", "", errs.NotFound("order", id)
}

// shrink runs the 2026.1 rules 3600× faster: first response 4 s, follow-up
// 24 s, major escalation 1 s.
const shrink = 3600

func newEnv(t *testing.T) *env {
	t.Helper()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	pool := pgtest.Pool(t, "", "complaint", migrations.FS, 6)
	tc := temporalx.Client(t)
	pol, err := policy.Select("2026.1", shrink)
	if err != nil {
		t.Fatal(err)
	}
	svc := app.New(store.New(pool), tc, pol, orders{"ord_it1": {"shop_it", "buyer_1"}, "ord_other": {"shop_other", "buyer_1"}}, log, time.Now)

	temporalx.StartWorker(t, tc, queues.Workflows, func(r worker.Registry) { wflifecycle.Register(r) })
	temporalx.StartWorker(t, tc, queues.ComplaintActivities, func(r worker.Registry) { runner.Register(r, domain.Process, svc.Handler()) })
	conn := grpctest.Serve(t, "complaint", func(s *grpc.Server) { complaintv1.RegisterComplaintServiceServer(s, grpcapi.New(svc)) },
		grpctest.Options{Permissions: pol.Permissions,
			Unary: []grpc.UnaryServerInterceptor{requests.UnaryServerInterceptor(pool, app.Retryable...)}})
	return &env{api: complaintv1.NewComplaintServiceClient(conn), tc: tc, svc: svc, pol: pol}
}

// strand stores a complaint received `ago` without starting its clock
// runner (as if Temporal had been down at filing), then runs the sweeper.
func strand(t *testing.T, e *env, ago time.Duration) *domain.Complaint {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	pc := e.pol.Complaint
	c, err := domain.File(domain.FileInput{ID: lifecycle.NewID("cmp"), RequestID: "req-it-strand", ShopID: "shop_sweep",
		CustomerIDs: []string{"buyer_6"}, Category: 1, Channel: domain.ChannelPhone, Content: "电话投诉：没人回复",
		ReceivedAt: now.Add(-ago), FiledBy: lifecycle.ActorOf(alice),
		Terms: domain.Terms{PolicyVersion: e.pol.Version, Limits: domain.Limits{Agent: 1, SeniorAgent: 2, Supervisor: 3, Manager: 4},
			SLA: domain.SLA{FirstResponse: pc.FirstResponse.D(), FollowUp: pc.FollowUp.D(), MajorEscalation: pc.MajorEscalation.D(),
				ReviewHandling: pc.ReviewHandling.D(), WarnAtPercent: pc.WarnAtPercent}}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Store().Insert(ctx, c); err != nil {
		t.Fatal(err)
	}
	n, err := e.svc.Sweep(ctx, 0)
	if err != nil || n < 1 {
		t.Fatalf("sweep started %d runners: %v", n, err)
	}
	if ids, err := e.svc.Store().Unstarted(ctx, time.Now(), 10); err != nil || slices.Contains(ids, c.ID) {
		t.Fatalf("still stranded: %v %v", ids, err)
	}
	return c
}

var (
	alice  = identity.Identity{Subject: "agent_alice", Role: identity.RoleAgent, Rank: identity.RankAgent, Group: identity.GroupAfterSale, ShopID: "shop_it"}
	senior = identity.Identity{Subject: "agent_sen", Role: identity.RoleAgent, Rank: identity.RankSeniorAgent, Group: identity.GroupAfterSale, ShopID: "shop_it"}
	bob    = identity.Identity{Subject: "agent_bob", Role: identity.RoleAgent, Rank: identity.RankAgent, Group: identity.GroupAfterSale, ShopID: "shop_it"}
	alien  = identity.Identity{Subject: "agent_x", Role: identity.RoleAgent, Rank: identity.RankManager, Group: identity.GroupGeneral, ShopID: "shop_other"}
	buyer1 = identity.Identity{Subject: "buyer_1", Role: identity.RoleBuyer}
	buyer2 = identity.Identity{Subject: "buyer_2", Role: identity.RoleBuyer}
)

func as(id identity.Identity) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	_ = cancel // released when the call's deadline passes
	return identity.AppendOutgoing(ctx, id)
}

func wantCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("got %v, want %s", err, code)
	}
}

func get(t *testing.T, e *env, id string) *complaintv1.Complaint {
	t.Helper()
	r, err := e.api.GetComplaint(as(alice), &complaintv1.GetComplaintRequest{ComplaintId: id})
	if err != nil {
		t.Fatal(err)
	}
	return r.GetComplaint()
}

func actions(c *complaintv1.Complaint) []complaintv1.StepAction {
	var out []complaintv1.StepAction
	for _, s := range c.GetSteps() {
		out = append(out, s.GetAction())
	}
	return out
}

func TestComplaintThroughGRPCWithTemporalAndPostgres(t *testing.T) {
	e := newEnv(t)

	fileReq := &complaintv1.FileComplaintRequest{
		RequestId: "req-it-00001", CustomerIds: []string{"buyer_1"}, OrderId: "ord_it1",
		Category: complaintv1.ComplaintCategory_COMPLAINT_CATEGORY_LOGISTICS, Channel: complaintv1.ComplaintChannel_COMPLAINT_CHANNEL_CHAT,
		Content: "快递外箱压坏，商品碎了", CustomerDemand: "refund", DemandedCompensationFen: 6000,
	}
	filed, err := e.api.FileComplaint(as(alice), fileReq)
	if err != nil {
		t.Fatal(err)
	}
	c := filed.GetComplaint()
	id := c.GetComplaintId()
	// A complaint stored without its runner, received 6 s (six shrunk
	// hours) before the sweeper starts one: its first response is overdue.
	stranded := strand(t, e, 6*time.Second)
	sweptAt := time.Now()
	if c.GetState() != complaintv1.ComplaintState_COMPLAINT_STATE_FILED || c.GetCurrentRung() != commonv1.AgentRank_AGENT_RANK_AGENT ||
		c.GetPolicyVersion() != "2026.1-shrunk3600" || c.GetWorkflowId() != "complaint/"+id || c.GetAuthorityLimitFen() != 5000 {
		t.Fatalf("filed %v", c)
	}

	t.Run("idempotent filing", func(t *testing.T) {
		again, err := e.api.FileComplaint(as(alice), fileReq)
		if err != nil || again.GetComplaint().GetComplaintId() != id {
			t.Fatalf("second filing: %v %v", again, err)
		}
	})
	t.Run("bad input names the field", func(t *testing.T) {
		bad := &complaintv1.FileComplaintRequest{RequestId: "req-it-bad01", CustomerIds: []string{"buyer_1"},
			Category: 2, Channel: 1, Content: "x"}
		_, err := e.api.FileComplaint(as(alice), bad)
		wantCode(t, err, codes.InvalidArgument)
		if !strings.Contains(status.Convert(err).Message(), "content") {
			t.Fatalf("message %q", status.Convert(err).Message())
		}
	})
	t.Run("the order must be the shop's and the customer's", func(t *testing.T) {
		for _, tc := range []struct{ order, customer string }{{"ord_other", "buyer_1"}, {"ord_it1", "buyer_2"}, {"ord_none", "buyer_1"}} {
			_, err := e.api.FileComplaint(as(alice), &complaintv1.FileComplaintRequest{RequestId: "req-it-ord-" + tc.order + tc.customer,
				CustomerIds: []string{tc.customer}, OrderId: tc.order, Category: 2, Channel: 1, Content: "wrong order"})
			wantCode(t, err, codes.FailedPrecondition)
		}
	})
	t.Run("others do not see it", func(t *testing.T) {
		_, err := e.api.GetComplaint(as(alien), &complaintv1.GetComplaintRequest{ComplaintId: id})
		wantCode(t, err, codes.NotFound)
		_, err = e.api.GetComplaint(as(buyer2), &complaintv1.GetComplaintRequest{ComplaintId: id})
		wantCode(t, err, codes.NotFound)
		if _, err := e.api.GetComplaint(as(buyer1), &complaintv1.GetComplaintRequest{ComplaintId: id}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("explain timers", func(t *testing.T) {
		x, err := e.api.ExplainTimers(as(alice), &complaintv1.ExplainTimersRequest{ComplaintId: id})
		if err != nil {
			t.Fatal(err)
		}
		cl := x.GetExplanation().GetClocks()
		if len(cl) != 1 || cl[0].GetName() != "first_response" || x.GetExplanation().GetPolicyVersion() != "2026.1-shrunk3600" ||
			!cl[0].GetDeadline().AsTime().Equal(c.GetReceivedAt().AsTime().Add(4*time.Second)) || x.GetNextRung() != commonv1.AgentRank_AGENT_RANK_SENIOR_AGENT {
			t.Fatalf("explanation %v", x)
		}
	})
	t.Run("a complaint stored before complaints pinned their clocks takes the current policy's", func(t *testing.T) {
		now := time.Now().UTC()
		old, err := domain.File(domain.FileInput{ID: lifecycle.NewID("cmp"), ShopID: "shop_legacy", CustomerIDs: []string{"buyer_9"},
			Category: 1, Channel: domain.ChannelChat, Content: "filed under the old workflow", ReceivedAt: now, FiledBy: lifecycle.ActorOf(alice),
			Terms: domain.Terms{PolicyVersion: "2026.1-shrunk3600", Limits: domain.Limits{Agent: 1, SeniorAgent: 2, Supervisor: 3, Manager: 4}}}, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.Store().Insert(context.Background(), old); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Store().MarkStarted(context.Background(), old.ID); err != nil { // not the sweeper's (its runner is not needed here)
			t.Fatal(err)
		}
		x, err := e.api.ExplainTimers(as(identity.Identity{Subject: "taobao", Role: identity.RolePlatform}),
			&complaintv1.ExplainTimersRequest{ComplaintId: old.ID})
		if err != nil {
			t.Fatal(err)
		}
		if cl := x.GetExplanation().GetClocks(); len(cl) != 1 || cl[0].GetPolicyDuration() != "4s" ||
			!cl[0].GetDeadline().AsTime().Equal(now.Add(4*time.Second)) {
			t.Fatalf("legacy complaint's clocks %v", x)
		}
	})
	t.Run("repeat complaint is linked", func(t *testing.T) {
		r, err := e.api.FileComplaint(as(buyer1), &complaintv1.FileComplaintRequest{RequestId: "req-it-rep01", ShopId: "shop_it",
			OrderId: "ord_it1", Category: 1, Channel: 1, Content: "still broken"})
		if err != nil {
			t.Fatal(err)
		}
		// The buyer is not told it is labelled a repeat; the shop is.
		if bv := r.GetComplaint(); len(bv.GetLinkedComplaintIds()) != 0 || len(bv.GetSpecialKinds()) != 0 {
			t.Fatalf("the buyer sees the shop's labels: %v", bv)
		}
		got, err := e.api.GetComplaint(as(alice), &complaintv1.GetComplaintRequest{ComplaintId: r.GetComplaint().GetComplaintId()})
		if err != nil {
			t.Fatal(err)
		}
		rc := got.GetComplaint()
		if !slices.Equal(rc.GetLinkedComplaintIds(), []string{id}) || !slices.Contains(rc.GetSpecialKinds(), complaintv1.SpecialKind_SPECIAL_KIND_REPEAT) {
			t.Fatalf("repeat %v", rc)
		}
	})

	t.Run("group complaint goes to the manager at once", func(t *testing.T) {
		r, err := e.api.FileComplaint(as(alice), &complaintv1.FileComplaintRequest{RequestId: "req-it-grp01",
			CustomerIds: []string{"buyer_7", "buyer_8", "buyer_9"}, Category: 1, Channel: 4, Content: "同一批次全部漏液",
			SpecialKinds: []complaintv1.SpecialKind{complaintv1.SpecialKind_SPECIAL_KIND_GROUP}})
		if err != nil {
			t.Fatal(err)
		}
		g := r.GetComplaint()
		if g.GetCurrentRung() != commonv1.AgentRank_AGENT_RANK_MANAGER || !g.GetIncident() || g.GetSeverity() != complaintv1.Severity_SEVERITY_MAJOR ||
			len(g.GetEscalations()) != 1 || g.GetEscalations()[0].GetReason() != complaintv1.EscalationReason_ESCALATION_REASON_GROUP_COMPLAINT ||
			g.GetAuthorityLimitFen() != 500000 {
			t.Fatalf("group complaint %v", g)
		}
		x, err := e.api.ExplainTimers(as(alice), &complaintv1.ExplainTimersRequest{ComplaintId: g.GetComplaintId()})
		if err != nil || x.GetNextRung() != commonv1.AgentRank_AGENT_RANK_UNSPECIFIED || len(x.GetExplanation().GetClocks()) != 1 {
			t.Fatalf("group timers %v %v", x, err)
		}
	})
	t.Run("media complaint is major and escalated within the (1 s) hour", func(t *testing.T) {
		r, err := e.api.FileComplaint(as(alice), &complaintv1.FileComplaintRequest{RequestId: "req-it-med01",
			CustomerIds: []string{"buyer_5"}, Category: 1, Channel: complaintv1.ComplaintChannel_COMPLAINT_CHANNEL_MEDIA, Content: "微博曝光"})
		if err != nil {
			t.Fatal(err)
		}
		m := r.GetComplaint()
		if !m.GetOfficialReplyOnly() || m.GetSeverity() != complaintv1.Severity_SEVERITY_MAJOR ||
			!slices.Equal(m.GetSpecialKinds(), []complaintv1.SpecialKind{complaintv1.SpecialKind_SPECIAL_KIND_MEDIA}) {
			t.Fatalf("media complaint %v", m)
		}
		deadline := time.Now().Add(20 * time.Second)
		for len(get(t, e, m.GetComplaintId()).GetEscalations()) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("media complaint not escalated")
			}
			time.Sleep(100 * time.Millisecond)
		}
		if esc := get(t, e, m.GetComplaintId()).GetEscalations()[0]; esc.GetReason() != complaintv1.EscalationReason_ESCALATION_REASON_MAJOR_BREACH ||
			esc.GetClock() != "major_escalation" {
			t.Fatalf("media escalation %v", esc)
		}
	})

	t.Run("a bad review gets the one-week (168 s) handling clock", func(t *testing.T) {
		r, err := e.api.FileComplaint(as(alice), &complaintv1.FileComplaintRequest{RequestId: "req-it-rev01",
			CustomerIds: []string{"buyer_3"}, Category: 1, Channel: complaintv1.ComplaintChannel_COMPLAINT_CHANNEL_REVIEW, Content: "差评：质量差",
			Review: &complaintv1.ReviewRef{ReviewId: "rv-1001", Rating: complaintv1.ReviewRating_REVIEW_RATING_BAD,
				ReviewedAt: timestamppb.New(time.Now().Add(-time.Hour)), Text: "质量太差"}})
		if err != nil {
			t.Fatal(err)
		}
		rc := r.GetComplaint()
		if got := rc.GetReview().GetHandlingDueAt().AsTime().Sub(rc.GetCreatedAt().AsTime()); got != 168*time.Second {
			t.Fatalf("review handling due after %s", got)
		}
		x, err := e.api.ExplainTimers(as(alice), &complaintv1.ExplainTimersRequest{ComplaintId: rc.GetComplaintId()})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range x.GetExplanation().GetClocks() {
			names = append(names, c.GetName())
		}
		if !slices.Equal(names, []string{"first_response", "review_handling"}) {
			t.Fatalf("review clocks %v", names)
		}
	})
	t.Run("malicious complaint: evidence, appeal to the platform, closed when upheld", func(t *testing.T) {
		r, err := e.api.FileComplaint(as(alice), &complaintv1.FileComplaintRequest{RequestId: "req-it-mal01",
			CustomerIds: []string{"buyer_4"}, Category: 6, Channel: 4, Content: "职业索赔",
			SpecialKinds: []complaintv1.SpecialKind{complaintv1.SpecialKind_SPECIAL_KIND_EXCESSIVE_COMPENSATION}, DemandedCompensationFen: 1000000})
		if err != nil {
			t.Fatal(err)
		}
		mid := r.GetComplaint().GetComplaintId()
		if _, err := e.api.AcknowledgeComplaint(as(alice), &complaintv1.AcknowledgeComplaintRequest{ComplaintId: mid}); err != nil {
			t.Fatal(err)
		}
		_, err = e.api.AppealMalicious(as(alice), &complaintv1.AppealMaliciousRequest{ComplaintId: mid, Statement: "no evidence yet"})
		wantCode(t, err, codes.FailedPrecondition)
		ev, err := e.api.CollectEvidence(as(alice), &complaintv1.CollectEvidenceRequest{ComplaintId: mid, Note: "same text sent to 20 shops",
			Evidence: []*complaintv1.Evidence{{Url: "https://files.example.com/chat.png", Description: "chat log"}}})
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetComplaint().GetState() != complaintv1.ComplaintState_COMPLAINT_STATE_EVIDENCE_COLLECTION || len(ev.GetComplaint().GetEvidence()) != 1 {
			t.Fatalf("evidence %v", ev.GetComplaint())
		}
		ap, err := e.api.AppealMalicious(as(alice), &complaintv1.AppealMaliciousRequest{ComplaintId: mid, Statement: "professional claimant"})
		if err != nil {
			t.Fatal(err)
		}
		if ap.GetComplaint().GetWhoseMove() != commonv1.Party_PARTY_PLATFORM || ap.GetComplaint().GetAppeal().GetOutcome() != complaintv1.AppealOutcome_APPEAL_OUTCOME_PENDING {
			t.Fatalf("appeal %v", ap.GetComplaint())
		}
		x, err := e.api.ExplainTimers(as(alice), &complaintv1.ExplainTimersRequest{ComplaintId: mid})
		if err != nil || len(x.GetExplanation().GetClocks()) != 1 || !x.GetExplanation().GetClocks()[0].GetPausedNow() {
			t.Fatalf("clocks during the appeal %v %v", x, err)
		}
		_, err = e.api.DecideAppeal(as(alice), &complaintv1.DecideAppealRequest{ComplaintId: mid, Outcome: complaintv1.AppealOutcome_APPEAL_OUTCOME_UPHELD, Note: "ok"})
		wantCode(t, err, codes.PermissionDenied)
		platform := identity.Identity{Subject: "taobao", Role: identity.RolePlatform}
		if _, err := e.api.DecideAppeal(as(platform), &complaintv1.DecideAppealRequest{ComplaintId: mid,
			Outcome: complaintv1.AppealOutcome_APPEAL_OUTCOME_UPHELD, Note: "malicious, upheld"}); err != nil {
			t.Fatal(err)
		}
		cl, err := e.api.CloseComplaint(as(alice), &complaintv1.CloseComplaintRequest{ComplaintId: mid, Summary: &complaintv1.Summary{
			RootCause: complaintv1.RootCause_ROOT_CAUSE_OTHER, WhatChanged: "claimant blacklisted"}})
		if err != nil {
			t.Fatal(err)
		}
		if cl.GetComplaint().GetCloseReason() != complaintv1.CloseReason_CLOSE_REASON_MALICIOUS_UPHELD || len(cl.GetComplaint().GetPausedSpans()) != 1 {
			t.Fatalf("closed malicious %v", cl.GetComplaint())
		}
	})

	// The 4 s first response runs out: the workflow warns, then climbs to senior agent.
	deadline := time.Now().Add(30 * time.Second)
	for get(t, e, id).GetCurrentRung() != commonv1.AgentRank_AGENT_RANK_SENIOR_AGENT {
		if time.Now().After(deadline) {
			t.Fatalf("no escalation: %v", get(t, e, id))
		}
		time.Sleep(200 * time.Millisecond)
	}
	c = get(t, e, id)
	esc := c.GetEscalations()
	if len(esc) != 1 || esc[0].GetReason() != complaintv1.EscalationReason_ESCALATION_REASON_FIRST_RESPONSE_BREACH ||
		esc[0].GetClock() != "first_response" || esc[0].GetBy().GetRole() != "service" ||
		!slices.Equal(actions(c)[:3], []complaintv1.StepAction{1, 13, 11}) {
		t.Fatalf("after breach %v", c)
	}
	if d := esc[0].GetAt().AsTime().Sub(c.GetReceivedAt().AsTime()); d < 4*time.Second || d > 10*time.Second {
		t.Fatalf("escalated %s after receipt, want about 4s", d)
	}

	// First response by alice: she owns it for good.
	ack, err := e.api.AcknowledgeComplaint(as(alice), &complaintv1.AcknowledgeComplaintRequest{ComplaintId: id, Etag: c.GetEtag(), Note: "非常抱歉"})
	if err != nil {
		t.Fatal(err)
	}
	c = ack.GetComplaint()
	if c.GetOwnerAgentId() != "agent_alice" || c.GetState() != complaintv1.ComplaintState_COMPLAINT_STATE_ACKNOWLEDGED {
		t.Fatalf("acknowledged %v", c)
	}
	_, err = e.api.AcknowledgeComplaint(as(alice), &complaintv1.AcknowledgeComplaintRequest{ComplaintId: id, Etag: `"v1"`})
	wantCode(t, err, codes.Aborted)
	_, err = e.api.AcknowledgeComplaint(as(alice), &complaintv1.AcknowledgeComplaintRequest{ComplaintId: id})
	wantCode(t, err, codes.FailedPrecondition)
	_, err = e.api.StartInvestigation(as(bob), &complaintv1.StartInvestigationRequest{ComplaintId: id})
	wantCode(t, err, codes.PermissionDenied)

	// Authority: the rung is senior agent now, so alice may offer up to 20000 fen.
	_, err = e.api.ProposeResolution(as(alice), &complaintv1.ProposeResolutionRequest{ComplaintId: id, Text: "赔偿300元", CompensationFen: 30000})
	wantCode(t, err, codes.FailedPrecondition)
	if !strings.Contains(status.Convert(err).Message(), "AUTHORITY_EXCEEDED") {
		t.Fatalf("message %q", status.Convert(err).Message())
	}
	prop, err := e.api.ProposeResolution(as(alice), &complaintv1.ProposeResolutionRequest{ComplaintId: id, Text: "退款60元并补发", CompensationFen: 6000})
	if err != nil {
		t.Fatal(err)
	}
	c = prop.GetComplaint()
	pid := c.GetProposals()[0].GetProposalId()
	if c.GetState() != complaintv1.ComplaintState_COMPLAINT_STATE_RESOLUTION_PROPOSED || c.GetWhoseMove() != commonv1.Party_PARTY_BUYER || c.GetNextDeadline() != nil {
		t.Fatalf("proposed %v", c)
	}
	x, err := e.api.ExplainTimers(as(alice), &complaintv1.ExplainTimersRequest{ComplaintId: id})
	if err != nil {
		t.Fatal(err)
	}
	if cl := x.GetExplanation().GetClocks(); len(cl) != 1 || cl[0].GetName() != "follow_up" || !cl[0].GetPausedNow() || len(cl[0].GetPaused()) != 1 {
		t.Fatalf("paused clocks %v", x)
	}
	time.Sleep(time.Second)

	// The buyer accepts: the clocks resume and the span is recorded.
	resp, err := e.api.RecordCustomerResponse(as(buyer1), &complaintv1.RecordCustomerResponseRequest{ComplaintId: id, ProposalId: pid, Accepted: true})
	if err != nil {
		t.Fatal(err)
	}
	// The buyer's view: what they filed and the proposal made to them, none
	// of the shop's internals.
	bv := resp.GetComplaint()
	if bv.GetState() != complaintv1.ComplaintState_COMPLAINT_STATE_RESOLUTION_ACCEPTED || len(bv.GetProposals()) != 1 ||
		bv.GetProposals()[0].GetCompensationFen() != 6000 || bv.GetProposals()[0].GetProposedBy() != nil ||
		len(bv.GetHandlers()) != 0 || len(bv.GetEscalations()) != 0 || len(bv.GetSteps()) != 0 || len(bv.GetEvidence()) != 0 ||
		bv.GetAuthorityLimitFen() != 0 || bv.GetOwnerAgentId() != "" || bv.GetCurrentRung() != 0 || len(bv.GetPausedSpans()) != 0 ||
		bv.GetWorkflowId() != "" || bv.GetNextDeadlineClock() != "" {
		t.Fatalf("the buyer sees the shop's internals: %v", bv)
	}
	if got, err := e.api.GetComplaint(as(buyer1), &complaintv1.GetComplaintRequest{ComplaintId: id}); err != nil ||
		len(got.GetComplaint().GetHandlers()) != 0 || got.GetComplaint().GetAuthorityLimitFen() != 0 {
		t.Fatalf("the buyer's read: %v %v", got, err)
	}
	agentView, err := e.api.GetComplaint(as(alice), &complaintv1.GetComplaintRequest{ComplaintId: id})
	if err != nil {
		t.Fatal(err)
	}
	c = agentView.GetComplaint()
	if len(c.GetHandlers()) == 0 || c.GetAuthorityLimitFen() == 0 || len(c.GetSteps()) == 0 {
		t.Fatalf("the agent's view lost the internals: %v", c)
	}
	spans := c.GetPausedSpans()
	if c.GetState() != complaintv1.ComplaintState_COMPLAINT_STATE_RESOLUTION_ACCEPTED || len(spans) != 1 || spans[0].GetTo() == nil ||
		spans[0].GetTo().AsTime().Sub(spans[0].GetFrom().AsTime()) < time.Second {
		t.Fatalf("accepted %v", c)
	}
	x, err = e.api.ExplainTimers(as(alice), &complaintv1.ExplainTimersRequest{ComplaintId: id})
	if err != nil {
		t.Fatal(err)
	}
	if cl := x.GetExplanation().GetClocks(); len(cl) != 1 || cl[0].GetPausedNow() ||
		!cl[0].GetDeadline().AsTime().Equal(cl[0].GetStartedAt().AsTime().Add(24*time.Second).Add(spans[0].GetTo().AsTime().Sub(spans[0].GetFrom().AsTime()))) {
		t.Fatalf("resumed clocks %v", x)
	}

	// A supervisor escalation joins a handler; ownership stays with alice.
	up, err := e.api.EscalateComplaint(as(senior), &complaintv1.EscalateComplaintRequest{ComplaintId: id,
		Reason: complaintv1.EscalationReason_ESCALATION_REASON_MANUAL, Note: "customer asks for the supervisor"})
	if err != nil {
		t.Fatal(err)
	}
	c = up.GetComplaint()
	if c.GetCurrentRung() != commonv1.AgentRank_AGENT_RANK_SUPERVISOR || c.GetOwnerAgentId() != "agent_alice" || len(c.GetHandlers()) != 2 {
		t.Fatalf("escalated %v", c)
	}
	_, err = e.api.EscalateComplaint(as(senior), &complaintv1.EscalateComplaintRequest{ComplaintId: id,
		Reason: complaintv1.EscalationReason_ESCALATION_REASON_MANUAL, Note: "again", TargetRung: commonv1.AgentRank_AGENT_RANK_SENIOR_AGENT})
	wantCode(t, err, codes.FailedPrecondition)
	_, err = e.api.UpdateComplaint(as(alice), &complaintv1.UpdateComplaintRequest{ComplaintId: id,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"customer_demand"}}, CustomerDemand: "refund and reship"})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := e.api.ResolveComplaint(as(alice), &complaintv1.ResolveComplaintRequest{ComplaintId: id, Note: "refunded and reshipped"}); err != nil {
		t.Fatal(err)
	}
	fu, err := e.api.AddFollowUp(as(alice), &complaintv1.AddFollowUpRequest{ComplaintId: id, Note: "customer received it", CustomerSatisfied: true, Satisfaction: 5})
	if err != nil {
		t.Fatal(err)
	}
	if fu.GetComplaint().GetState() != complaintv1.ComplaintState_COMPLAINT_STATE_FOLLOWED_UP {
		t.Fatalf("followed up %v", fu.GetComplaint())
	}
	_, err = e.api.CloseComplaint(as(alice), &complaintv1.CloseComplaintRequest{ComplaintId: id, Summary: &complaintv1.Summary{}})
	wantCode(t, err, codes.InvalidArgument)
	closed, err := e.api.CloseComplaint(as(alice), &complaintv1.CloseComplaintRequest{ComplaintId: id, Summary: &complaintv1.Summary{
		RootCause: complaintv1.RootCause_ROOT_CAUSE_PACKAGING, WhatChanged: "fragile goods ship in double boxes", Satisfaction: 5}})
	if err != nil {
		t.Fatal(err)
	}
	c = closed.GetComplaint()
	if c.GetState() != complaintv1.ComplaintState_COMPLAINT_STATE_CLOSED || c.GetCloseReason() != complaintv1.CloseReason_CLOSE_REASON_RESOLVED ||
		c.GetSummary().GetRootCause() != complaintv1.RootCause_ROOT_CAUSE_PACKAGING || c.GetWhoseMove() != commonv1.Party_PARTY_UNSPECIFIED {
		t.Fatalf("closed %v", c)
	}
	// The people's steps, in order. Pre-breach warnings (13) are the
	// clock's and depend on how long each step took on this machine under
	// the shrunk policy: they are left out here (the first one, before the
	// first breach, is asserted above).
	wantFlow := []complaintv1.StepAction{1, 11, 3, 6, 15, 16, 7, 12, 11, 2, 9, 5, 10}
	withoutWarnings := slices.DeleteFunc(actions(c), func(a complaintv1.StepAction) bool {
		return a == complaintv1.StepAction_STEP_ACTION_BREACH_WARNING
	})
	if !slices.Equal(withoutWarnings, wantFlow) {
		t.Fatalf("history %v\nwant    %v (warnings aside)", actions(c), wantFlow)
	}
	_, err = e.api.AddFollowUp(as(alice), &complaintv1.AddFollowUpRequest{ComplaintId: id, Note: "late"})
	wantCode(t, err, codes.FailedPrecondition)

	// The clock runner ended with the complaint.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var res lifecycle.Clocks
	if err := e.tc.GetWorkflow(ctx, app.WorkflowID(id), "").Get(ctx, &res); err != nil || !res.Done || len(res.Alarms) != 0 {
		t.Fatalf("clock runner result %+v %v", res, err)
	}

	t.Run("the stranded complaint climbed the ladder from receipt, not from the sweep", func(t *testing.T) {
		var sc *store.Row
		deadline := time.Now().Add(40 * time.Second)
		for {
			var err error
			if sc, err = e.svc.Store().Get(ctx, stranded.ID); err != nil {
				t.Fatal(err)
			}
			if slices.ContainsFunc(sc.Steps, func(s domain.Step) bool { return s.Action == domain.ActBreachedAtTop }) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no breach at the top: %+v", sc.Escalations)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if len(sc.Escalations) != 3 || sc.Rung != identity.RankManager {
			t.Fatalf("escalations %+v", sc.Escalations)
		}
		fr := e.pol.Complaint.FirstResponse.D()
		for i, esc := range sc.Escalations {
			// each period counts from the previous deadline: receipt + 4 s, + 8 s, + 12 s
			if want := stranded.ReceivedAt.Add(time.Duration(i+1) * fr); !esc.Due.Equal(want) || esc.To != identity.Rank(i+2) ||
				esc.Clock != "first_response" || esc.Reason != domain.ReasonFirstResponseBreach {
				t.Fatalf("escalation %d %+v, want due %s", i, esc, want)
			}
		}
		if first := sc.Escalations[0]; first.At.Before(sweptAt) {
			t.Fatalf("first climb at %s, before the sweep at %s", first.At, sweptAt)
		}
	})

	// Listing: the shop's complaints page by page, soonest deadline first,
	// complaints without a running clock (the closed one) last.
	var (
		seen  []string
		dls   []time.Time
		token string
	)
	for {
		page, err := e.api.ListComplaints(as(alice), &complaintv1.ListComplaintsRequest{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, lc := range page.GetComplaints() {
			seen = append(seen, lc.GetComplaintId())
			if lc.GetNextDeadline() != nil {
				dls = append(dls, lc.GetNextDeadline().AsTime())
			}
		}
		if token = page.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(seen) != 6 || slices.Index(seen, id) < len(dls) || !slices.IsSortedFunc(dls, func(a, b time.Time) int { return a.Compare(b) }) {
		t.Fatalf("listed %v with deadlines %v", seen, dls)
	}
	list, err := e.api.ListComplaints(as(alice), &complaintv1.ListComplaintsRequest{States: []complaintv1.ComplaintState{complaintv1.ComplaintState_COMPLAINT_STATE_CLOSED}})
	if err != nil || len(list.GetComplaints()) != 2 {
		t.Fatalf("closed ones %v %v", list, err)
	}
	list, err = e.api.ListComplaints(as(buyer1), &complaintv1.ListComplaintsRequest{})
	if err != nil || len(list.GetComplaints()) != 2 {
		t.Fatalf("buyer_1 sees %v %v", list, err)
	}
	list, err = e.api.ListComplaints(as(alien), &complaintv1.ListComplaintsRequest{})
	if err != nil || len(list.GetComplaints()) != 0 {
		t.Fatalf("another shop sees %v %v", list, err)
	}
}
