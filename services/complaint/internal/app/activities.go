package app

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"github.com/kefu-suite/kefu/services/complaint/internal/domain"
	"github.com/kefu-suite/kefu/services/complaint/internal/store"
	"github.com/kefu-suite/kefu/services/platform/errs"
	wf "github.com/kefu-suite/kefu/workflows/complaint"
	"github.com/kefu-suite/kefu/services/platform/failures"
)

// RegisterActivities adds the workflow's activities to the service's
// activity worker (queues.ComplaintActivities) by their names.
func (s *Service) RegisterActivities(r worker.ActivityRegistry) {
	r.RegisterActivityWithOptions(s.Apply, activity.RegisterOptions{Name: wf.ActivityApply})
	r.RegisterActivityWithOptions(s.SyncDeadline, activity.RegisterOptions{Name: wf.ActivitySyncDeadline})
}

// Apply applies one command to the record in one transaction, idempotent
// on the workflow's sequence number. Business failures are non-retryable
// application errors typed for the service's error mapping.
func (s *Service) Apply(ctx context.Context, in wf.ApplyInput) (wf.ApplyResult, error) {
	cmd := in.Command
	at := in.At.UTC()
	row, _, err := s.store.Apply(ctx, in.ComplaintID, in.Seq, func(c *domain.Complaint) error {
		if cmd.ExpectedVersion != 0 && cmd.ExpectedVersion != c.Version {
			return staleETag(store.ETag(cmd.ExpectedVersion), c.Version)
		}
		return dispatch(c, at, cmd)
	})
	if err != nil {
		return wf.ApplyResult{}, toApplicationError(err)
	}
	c := row.Complaint
	paused, why := c.Paused()
	return wf.ApplyResult{
		Version: c.Version, State: string(c.State), Rung: int(c.Rung), Major: c.Major(), MajorSince: c.MajorSince,
		Paused: paused, PauseReason: why, WhoseMove: int(c.WhoseMove()),
		FollowUpRecorded: cmd.Kind == wf.UpdateFollowUp,
	}, nil
}

// SyncDeadline stores the earliest running deadline for the list order.
func (s *Service) SyncDeadline(ctx context.Context, in wf.SyncDeadlineInput) error {
	return s.store.SyncDeadline(ctx, in.ComplaintID, in.Seq, in.Deadline, in.Clock)
}

func actorOf(a wf.Actor) domain.Actor {
	return domain.Actor{Subject: a.Subject, Role: a.Role, Rank: domain.Rank(a.Rank), Group: a.Group, ShopID: a.ShopID}
}

func dispatch(c *domain.Complaint, at time.Time, cmd wf.Command) error {
	a := actorOf(cmd.Actor)
	switch cmd.Kind {
	case wf.UpdateAcknowledge:
		return c.Acknowledge(a, at, cmd.Note)
	case wf.UpdateInvestigate:
		return c.StartInvestigation(a, at, cmd.Note)
	case wf.UpdateFollowUp:
		return c.AddFollowUp(a, at, cmd.Note, cmd.CustomerSatisfied, cmd.Satisfaction)
	case wf.UpdatePropose:
		return c.ProposeResolution(a, at, store.NewID("prp"), cmd.Text, cmd.CompensationFen)
	case wf.UpdateRespond:
		return c.RecordCustomerResponse(a, at, cmd.ProposalID, cmd.Accepted, cmd.Comment)
	case wf.UpdateResolve:
		return c.Resolve(a, at, cmd.Note, cmd.AfterSaleCaseID)
	case wf.UpdateClose:
		if cmd.Summary == nil {
			return errs.Field("summary", "complaint.close.summary", "closing needs a summary")
		}
		return c.Close(a, at, domain.Summary{RootCause: cmd.Summary.RootCause, WhatChanged: cmd.Summary.WhatChanged,
			Satisfaction: cmd.Summary.Satisfaction, Lessons: cmd.Summary.Lessons})
	case wf.UpdateEscalate:
		return c.Escalate(a, at, domain.Reason(cmd.Reason), domain.Rank(cmd.TargetRung), cmd.HandlerAgentID, cmd.Note)
	case wf.UpdateClassify:
		if cmd.Patch == nil {
			return errs.Field("update_mask", "complaint.update.mask_paths", "name at least one field")
		}
		p := domain.Patch{Paths: cmd.Patch.Paths, Category: domain.Category(cmd.Patch.Category), Severity: domain.Severity(cmd.Patch.Severity),
			OrderID: cmd.Patch.OrderID, CustomerIDs: cmd.Patch.CustomerIDs, CustomerDemand: cmd.Patch.CustomerDemand,
			DemandedCompensationFen: cmd.Patch.DemandedCompensationFen}
		for _, k := range cmd.Patch.SpecialKinds {
			p.SpecialKinds = append(p.SpecialKinds, domain.SpecialKind(k))
		}
		return c.Reclassify(a, at, p)
	case wf.UpdateCollectEvidence:
		items := make([]domain.EvidenceInput, len(cmd.Evidence))
		ids := make([]string, len(cmd.Evidence))
		for i, e := range cmd.Evidence {
			items[i], ids[i] = domain.EvidenceInput{URL: e.URL, Description: e.Description}, store.NewID("evd")
		}
		return c.CollectEvidence(a, at, cmd.Note, items, ids)
	case wf.UpdateAppeal:
		return c.AppealMalicious(a, at, cmd.Statement, cmd.EvidenceIDs)
	case wf.UpdateDecideAppeal:
		return c.DecideAppeal(a, at, cmd.AppealUpheld, cmd.Note)
	case wf.CmdAutoEscalate:
		c.AutoEscalate(at, domain.Rank(cmd.TargetRung), domain.Reason(cmd.Reason), cmd.Clock, cmd.Note)
		return nil
	case wf.CmdBreachWarning:
		c.BreachWarning(at, cmd.Clock, cmd.Note)
		return nil
	case wf.CmdBreachAtTop:
		c.BreachedAtTop(at, cmd.Clock, cmd.Note)
		return nil
	}
	return errs.Field("kind", "complaint.command", "unknown command %q", cmd.Kind)
}

// toApplicationError types a domain failure for the workflow; anything
// else stays retryable.
func toApplicationError(err error) error { return failures.FromDomain(err) }
