//go:build kefubench

package store

// SetEvents turns the writing of events on or off, process-wide: only in
// binaries built with -tags kefubench (make bench), to measure a placement
// with its events against the same placement without.
func SetEvents(on bool) {
	if on {
		queueEvents = writeQueued
	} else {
		queueEvents = noEvents
	}
}
