package app

import (
	"slices"
	"sort"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	"github.com/kefu-suite/kefu/services/aftersale/internal/domain"
)

// contractNames are an enum's value names without UNSPECIFIED (0).
func contractNames(e protoreflect.EnumDescriptor) []string { return names(e, false) }

// names lists an enum's value names, with UNSPECIFIED when asked (whose
// move is PARTY_UNSPECIFIED once a case has ended).
func names(e protoreflect.EnumDescriptor, withZero bool) []string {
	var out []string
	for i := 0; i < e.Values().Len(); i++ {
		if v := e.Values().Get(i); withZero || v.Number() != 0 {
			out = append(out, string(v.Name()))
		}
	}
	sort.Strings(out)
	return out
}

func domainNames[T ~string](list []T) []string {
	out := make([]string, 0, len(list))
	for _, v := range list {
		out = append(out, string(v))
	}
	sort.Strings(out)
	return out
}

// The aggregate's enum types and the contract's enums are the same words:
// a state, type, reason, close reason, history action, refund state,
// service target, mover or timeout table added to the contract but not to the domain (or
// the other way round) fails here — the aggregate would
// otherwise carry a state it has no clock or command for, or write one the
// contract cannot read.
func TestDomainEnumsAreTheContractEnums(t *testing.T) {
	for _, tc := range []struct {
		name           string
		contract, mine []string
	}{
		{"CaseState / domain.States", contractNames(aftersalev1.CaseState(0).Descriptor()), domainNames(domain.States)},
		{"CaseType / domain.CaseTypes", contractNames(aftersalev1.CaseType(0).Descriptor()), domainNames(domain.CaseTypes)},
		{"CaseReason / domain.Reasons", contractNames(aftersalev1.CaseReason(0).Descriptor()), domainNames(domain.Reasons)},
		{"CloseReason / domain.CloseReasons", contractNames(aftersalev1.CloseReason(0).Descriptor()), domainNames(domain.CloseReasons)},
		{"CaseAction / domain.Actions", contractNames(aftersalev1.CaseAction(0).Descriptor()), domainNames(domain.Actions)},
		{"RefundState / domain.RefundStates", contractNames(aftersalev1.RefundState(0).Descriptor()), domainNames(domain.RefundStates)},
		{"ServiceTargetKind / domain.TargetKinds", contractNames(aftersalev1.ServiceTargetKind(0).Descriptor()), domainNames(domain.TargetKinds)},
		{"ServiceTargetStatus / domain.TargetStatuses", contractNames(aftersalev1.ServiceTargetStatus(0).Descriptor()), domainNames(domain.TargetStatuses)},
		{"Party / domain.Moves", names(commonv1.Party(0).Descriptor(), true), domainNames(domain.Moves)},
		{"TimeoutTable / domain.TimeoutTables", contractNames(aftersalev1.TimeoutTable(0).Descriptor()), domainNames(domain.TimeoutTables)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !slices.Equal(tc.contract, tc.mine) {
				t.Fatalf("contract %v\ndomain   %v", tc.contract, tc.mine)
			}
		})
	}
}

// Every state the domain knows either ends the case or names whose move
// it is: a state added without its rules shows up here too.
func TestEveryOpenStateHasAMover(t *testing.T) {
	for _, st := range domain.States {
		c := &domain.Case{State: st}
		e := c.Explain()
		if domain.Terminal(st) != (e.WhoseMove == domain.MoveNone) {
			t.Errorf("%s: terminal %v, whose move %s", st, domain.Terminal(st), e.WhoseMove)
		}
	}
}
