//go:build kefubench

package app

import "github.com/kefu-suite/kefu/services/platform/lifecycle/runner"

var parked = map[*Service]*runner.Starter{}

// UseStarter switches the placement path between answering once stored
// (the starter: 8 goroutines, 512 queued) and starting the runner before
// answering: only in binaries built with -tags kefubench (make bench), to
// compare both in one run. Not safe while placements are in flight.
func (s *Service) UseStarter(on bool) {
	switch {
	case on && s.starter == nil && parked[s] != nil:
		s.starter = parked[s]
	case on && s.starter == nil:
		s.WithStarter(8, 512)
	case !on && s.starter != nil:
		parked[s], s.starter = s.starter, nil
	}
}
