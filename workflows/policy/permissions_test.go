package policy_test

import (
	"testing"

	"github.com/kefu-suite/kefu/services/platform/contracts"
	"github.com/kefu-suite/kefu/services/platform/permit"
	"github.com/kefu-suite/kefu/workflows/policy"
)

// The permission table covers every state-changing RPC of every service's
// contract, and names nothing that is not one: a new RPC without a rule
// fails here (and would be refused at run time).
func TestPermissionsCoverEveryStateChangingRPC(t *testing.T) {
	p, err := policy.Select("", 1)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, fd := range contracts.Services {
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				md := sd.Methods().Get(j)
				op := permit.Op("/" + string(sd.FullName()) + "/" + string(md.Name()))
				if permit.ReadOnly(string(md.Name())) {
					if _, ok := p.Permissions[op]; ok {
						t.Errorf("%s is a read; reads are not in the table", op)
					}
					continue
				}
				seen[op] = true
				if _, ok := p.Permissions[op]; !ok {
					t.Errorf("%s changes state and has no permission rule", op)
				}
			}
		}
	}
	for op := range p.Permissions {
		if !seen[op] {
			t.Errorf("permissions.%s names no RPC of the contracts", op)
		}
	}
	if len(seen) < 60 {
		t.Fatalf("only %d state-changing RPCs found", len(seen))
	}
}
