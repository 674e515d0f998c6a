package domain

import (
	"testing"
	"time"
)

func TestRootCauseFollowsAnAmendedReason(t *testing.T) {
	for _, tc := range []struct {
		name      string
		from, to  Reason
		setCause  string // a cause set by hand before the amendment ("" → the one the reason implies)
		wantCause string
	}{
		{"seven-day → quality: no longer the buyer's preference", ReasonSevenDay, ReasonQuality, "", CauseQualityControl},
		{"quality → seven-day: the buyer's preference", ReasonQuality, ReasonSevenDay, "", CauseBuyerPref},
		{"a cause set by hand stays", ReasonSevenDay, ReasonQuality, CausePackaging, CausePackaging},
		{"same reason: nothing moves", ReasonQuality, ReasonQuality, "", CauseQualityControl},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, TypeReturnRefund, tc.from, 5000).open("")
			s.c.RootCause = Responsible(TypeReturnRefund, tc.from).RootCause
			if tc.setCause != "" {
				s.c.RootCause = tc.setCause
			}
			s.must(time.Hour, Command{Name: CmdAmend, Actor: buyer, Paths: []string{"reason"}, Reason: tc.to})
			if s.c.RootCause != tc.wantCause {
				t.Fatalf("root cause %s, want %s", s.c.RootCause, tc.wantCause)
			}
		})
	}
}
