package policy

import "testing"

func MustRead(t *testing.T) []byte {
	t.Helper()
	b, err := embedded.ReadFile("files/sla-2026.1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
