package app

import (
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	"github.com/kefu-suite/kefu/services/aftersale/internal/domain"
	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/lifecycle"
	"github.com/kefu-suite/kefu/services/platform/lifecycle/runner"
	"github.com/kefu-suite/kefu/workflows/policy"
)

// This file is the one boundary between the contract (shop.aftersale.v1)
// and the case aggregate: the aggregate's json-tagged fields are the
// contract's proto field names and enum names, so a case crosses as
// protojson. A contract field the aggregate does not carry fails the
// round-trip test (casemap_test.go) instead of being dropped silently.

var (
	protoOut = protojson.MarshalOptions{UseProtoNames: true}
	protoIn  = protojson.UnmarshalOptions{} // strict: a field the contract lacks is an error
)

// caseProto renders the aggregate as the contract message.
func caseProto(c *domain.Case) (*aftersalev1.Case, error) {
	b, err := json.Marshal(c.Shown())
	if err != nil {
		return nil, err
	}
	out := &aftersalev1.Case{}
	if err := protoIn.Unmarshal(b, out); err != nil {
		return nil, fmt.Errorf("case %s does not fit the contract: %w", c.CaseID, err)
	}
	out.Etag = lifecycle.ETag(c.Version())
	out.WorkflowId = WorkflowID(c.CaseID)
	return out, nil
}

// caseFromProto reads a contract message as the aggregate (the contract part).
func caseFromProto(m *aftersalev1.Case) (*domain.Case, error) {
	out := &domain.Case{}
	if err := fromProto(m, out); err != nil {
		return nil, err
	}
	return out, nil
}

func fromProto(m proto.Message, out any) error {
	b, err := protoOut.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// convert re-reads a contract message as the domain struct of the same JSON
// shape (addresses, shipments, evidence); nil stays nil.
func convert[T any](m proto.Message, isNil bool) (*T, error) {
	if isNil {
		return nil, nil
	}
	out := new(T)
	if err := fromProto(m, out); err != nil {
		return nil, err
	}
	return out, nil
}

func address(a *commonv1.Address) (*domain.Address, error) {
	return convert[domain.Address](a, a == nil)
}

func shipment(s *commonv1.Shipment) (*domain.Shipment, error) {
	return convert[domain.Shipment](s, s == nil)
}

func evidence(list []*aftersalev1.Evidence) ([]domain.Evidence, error) {
	var out []domain.Evidence
	for _, e := range list {
		v, err := convert[domain.Evidence](e, e == nil)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}

func enumName[E interface{ String() string }](e E, unspecified E) string {
	if e.String() == unspecified.String() {
		return ""
	}
	return e.String()
}

// The contract's enums as the aggregate's types. Their names are the same
// words (a test holds the two sets equal); UNSPECIFIED is "".

func caseType(t aftersalev1.CaseType) domain.CaseType {
	return domain.CaseType(enumName(t, aftersalev1.CaseType_CASE_TYPE_UNSPECIFIED))
}

func caseReason(r aftersalev1.CaseReason) domain.Reason {
	return domain.Reason(enumName(r, aftersalev1.CaseReason_CASE_REASON_UNSPECIFIED))
}

// actor renders the caller for the aggregate and its history.
func actor(id identity.Identity) domain.Actor {
	a := lifecycle.ActorOf(id)
	out := domain.Actor{Subject: a.Subject, Role: string(a.Role)}
	if a.Rank != identity.RankNone {
		out.Rank = rankName(a.Rank)
	}
	return out
}

func rankName(r identity.Rank) string {
	switch r {
	case identity.RankAgent:
		return commonv1.AgentRank_AGENT_RANK_AGENT.String()
	case identity.RankSeniorAgent:
		return commonv1.AgentRank_AGENT_RANK_SENIOR_AGENT.String()
	case identity.RankSupervisor:
		return commonv1.AgentRank_AGENT_RANK_SUPERVISOR.String()
	case identity.RankManager:
		return commonv1.AgentRank_AGENT_RANK_MANAGER.String()
	}
	return ""
}

func actorProto(a domain.Actor) *commonv1.Actor {
	return &commonv1.Actor{Subject: a.Subject, Role: a.Role, Rank: commonv1.AgentRank(commonv1.AgentRank_value[a.Rank])}
}

// PinnedPolicy pins the after-sale section of the SLA policy on a case as
// plain durations.
func PinnedPolicy(p *policy.Policy) domain.Policy {
	a, ac := p.AfterSale, p.Order.AutoConfirm
	warn := a.Targets.WarnAtPercent
	if warn <= 0 {
		warn = p.Complaint.WarnAtPercent
	}
	return domain.Policy{
		SellerResponseTransaction:        a.SellerResponse.Transaction.D(),
		SellerResponseReturnRefund:       a.SellerResponse.ReturnRefund.D(),
		SellerResponseSevenDay:           a.SellerResponse.SevenDayNoReason.D(),
		SellerResponseRefundOnlyPhysical: a.SellerResponse.RefundOnlyPhysical.D(),
		SellerResponseRefundOnlyVirtual:  a.SellerResponse.RefundOnlyVirtual.D(),
		SellerResponseReasonChanged:      a.SellerResponse.ReasonChanged.D(),
		BuyerAfterRejection:              a.BuyerAfterRejection.D(),
		BuyerReturnShipment:              a.BuyerReturnShipment.D(),
		SellerReceiptExpress:             a.SellerConfirmReceipt.Express.D(),
		SellerReceiptSurfaceMail:         a.SellerConfirmReceipt.SurfaceMail.D(),
		SellerReceiptAfterSale:           a.SellerConfirmReceipt.AfterSale.D(),
		ExchangeBuyerArrange:             a.ExchangeBuyerArrange.D(),
		ConfirmExpress:                   ac.Express.D(),
		ConfirmEMS:                       ac.EMS.D(),
		ConfirmSurfaceMail:               ac.SurfaceMail.D(),
		ConfirmVirtual:                   ac.Virtual.D(),
		ConfirmAutoDelivery:              ac.AutoDelivery.D(),
		TargetRespond:                    a.Targets.Respond.D(),
		TargetPickup:                     a.Targets.Pickup.D(),
		TargetRefund:                     a.Targets.RefundAfterReceipt.D(),
		TargetShipExchange:               a.Targets.ShipExchange.D(),
		WarnAtPercent:                    warn,
	}
}

// explanationProto renders the domain's timers explanation.
func explanationProto(c *domain.Case, now time.Time) *commonv1.TimerExplanation {
	e := c.ExplainAt(now)
	out := &commonv1.TimerExplanation{WorkflowId: WorkflowID(c.CaseID), PolicyVersion: e.PolicyVersion, State: e.State,
		WhoseMove: party(e.WhoseMove), AsOf: timestamppb.New(now)}
	for _, k := range e.Clocks {
		cl := &commonv1.Clock{Name: k.Name, Description: k.Description, WhoseMove: party(k.WhoseMove),
			StartedAt: timestamppb.New(k.StartedAt), Deadline: timestamppb.New(k.Deadline), OnExpiry: k.OnExpiry,
			PolicyDuration: k.PolicyDuration.String(), PausedNow: k.PausedNow}
		if k.WarnAt != nil {
			cl.WarnAt = timestamppb.New(*k.WarnAt)
		}
		for _, p := range k.Paused {
			cl.Paused = append(cl.Paused, &commonv1.PausedSpan{From: timestamppb.New(p.From), To: timestamppb.New(p.To), Reason: p.Reason})
		}
		out.Clocks = append(out.Clocks, cl)
	}
	return out
}

func party(m domain.Move) commonv1.Party { return commonv1.Party(commonv1.Party_value[string(m)]) }

// WorkflowID is the id of a case's clock runner ("aftersale/<case id>").
func WorkflowID(caseID string) string { return runner.WorkflowID(Process, caseID) }

// Process is the after-sale process's name on the clock runner.
const Process = "aftersale"
