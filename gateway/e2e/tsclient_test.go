package e2e_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kefu-suite/kefu/services/platform/identity"
)

// The TypeScript client (clients/typescript, generated from the committed
// OpenAPI document) drives the buyer's journey against a real stack: search,
// quote, place with an Idempotency-Key, pay, the shop ships, the buyer
// confirms receipt and opens a return — its node test, with typed errors.
// `make client` builds it first (KEFU_SKIP_TS=1 skips this test).
func TestTypeScriptClientJourney(t *testing.T) {
	if os.Getenv("KEFU_SKIP_TS") == "1" {
		t.Skip("KEFU_SKIP_TS=1: the TypeScript client is not tested")
	}
	if testing.Short() {
		t.Skip("end-to-end: needs PostgreSQL, Temporal, the built suite and the built client")
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "clients", "typescript")
	for _, need := range []string{"node_modules", "dist/index.js", "dist/test/journey.test.js"} {
		if _, err := os.Stat(filepath.Join(dir, need)); err != nil {
			t.Fatalf("clients/typescript/%s is missing: run `make client` first (or set KEFU_SKIP_TS=1 to skip this test)", need)
		}
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("npm is not installed: run `make client` (or set KEFU_SKIP_TS=1 to skip this test)")
	}

	s := StartStack(t)
	buyer := Token(t, identity.Identity{Subject: "buyer_tsclient", Role: identity.RoleBuyer})
	agent := Token(t, identity.Identity{Subject: "agent_ts1", Role: identity.RoleAgent, Rank: identity.RankSeniorAgent,
		Group: identity.GroupAfterSale, ShopID: "shop_demo"})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "run", "--silent", "test:journey")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"KEFU_API_URL="+s.URL,
		"KEFU_BUYER_TOKEN="+buyer,
		"KEFU_AGENT_TOKEN="+agent,
		"NO_COLOR=1",
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("npm run test:journey in clients/typescript: %v\n%s", err, out.String())
	}
	// The journey must have run, not been skipped.
	if bytes.Contains(out.Bytes(), []byte("# SKIP")) || !bytes.Contains(out.Bytes(), []byte("buyer journey through @kefu/client")) {
		t.Fatalf("the journey did not run:\n%s", out.String())
	}
	t.Logf("npm run test:journey:\n%s", out.String())
}
