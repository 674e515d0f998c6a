package domain

import "testing"

// Only the late actions SettledBy names make the projector look for open
// breaches; every other event skips the lookup.
func TestSettles(t *testing.T) {
	for typ, want := range map[string]bool{
		"order.shipped": true, "case.approved": true, "complaint.acknowledged": true, "case.replacement_shipped": true,
		"session.opened": false, "order.placed": false, "case.created": false, "complaint.filed": false, "": false,
	} {
		if got := Settles(typ); got != want {
			t.Errorf("Settles(%q) = %v, want %v", typ, got, want)
		}
	}
}
