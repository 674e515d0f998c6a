package domain_test

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/kefu-suite/kefu/services/conversation/internal/domain"
)

// The targets of issue 14 E, measured on testdata/replies.tsv.
const (
	corpusMinSize        = 300
	corpusMinRecall      = 0.97 // forbidden replies refused
	corpusMaxFalseRefuse = 0.03 // acceptable replies refused or flagged
	corpusMinFlagged     = 0.97 // discouraged replies flagged (and not refused)
)

type labelled struct {
	line     int
	verdict  string // forbidden, discouraged, acceptable
	category string
	text     string
}

func readCorpus(t *testing.T) []labelled {
	t.Helper()
	f, err := os.Open("testdata/replies.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []labelled
	seen := map[string]int{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 3 || cols[2] == "" {
			t.Fatalf("replies.tsv:%d: want verdict<TAB>category<TAB>reply, got %q", n, line)
		}
		if !slices.Contains([]string{"forbidden", "discouraged", "acceptable"}, cols[0]) {
			t.Fatalf("replies.tsv:%d: unknown verdict %q", n, cols[0])
		}
		if prev, dup := seen[cols[2]]; dup {
			t.Fatalf("replies.tsv:%d: %q is already on line %d", n, cols[2], prev)
		}
		seen[cols[2]] = n
		out = append(out, labelled{line: n, verdict: cols[0], category: cols[1], text: cols[2]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReplyCorpus measures the phrase check on a labelled corpus of
// realistic agent replies (testdata/replies.tsv): recall on the forbidden
// ones, false refusals on the acceptable ones (refused or flagged), and the
// discouraged ones flagged without being refused. It fails below the targets
// and on a corpus smaller than 300 replies or missing a category.
func TestReplyCorpus(t *testing.T) {
	pl := phrases(t)
	corpus := readCorpus(t)
	type tally struct{ total, right int }
	perCat := map[string]*tally{}
	var forb, disc, acc tally
	discRefused := 0
	for _, c := range corpus {
		got := pl.Check(c.text)
		key := c.verdict + "/" + c.category
		if perCat[key] == nil {
			perCat[key] = &tally{}
		}
		perCat[key].total++
		var right bool
		switch c.verdict {
		case "forbidden":
			forb.total++
			right = got.Verdict == domain.VerdictForbidden
			if right {
				forb.right++
			}
		case "discouraged":
			disc.total++
			right = got.Verdict == domain.VerdictDiscouraged
			if right {
				disc.right++
			}
			if got.Verdict == domain.VerdictForbidden {
				discRefused++
			}
		case "acceptable":
			acc.total++
			right = got.Verdict == domain.VerdictOK
			if right {
				acc.right++
			}
		}
		if right {
			perCat[key].right++
			if c.verdict != "acceptable" && !slices.ContainsFunc(got.Findings, func(f domain.Finding) bool { return string(f.Category) == c.category }) {
				t.Logf("replies.tsv:%d %q (%s): right verdict, but no %s finding: %+v", c.line, c.text, key, c.category, got.Findings)
			}
			continue
		}
		var found []string
		for _, f := range got.Findings {
			found = append(found, f.Phrase+"/"+string(f.Category)+"/"+string(f.Severity))
		}
		t.Logf("MISS replies.tsv:%d %s %q: verdict %v, findings %v", c.line, key, c.text, got.Verdict, found)
	}

	ratio := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	recall := ratio(forb.right, forb.total)
	falseRefusals := ratio(acc.total-acc.right, acc.total)
	flagged := ratio(disc.right, disc.total)
	t.Logf("corpus: %d replies (%d forbidden, %d discouraged, %d acceptable), phrase list %s", len(corpus), forb.total, disc.total, acc.total, pl.Version())
	t.Logf("recall on forbidden: %.1f%% (%d/%d, target ≥ %.0f%%)", 100*recall, forb.right, forb.total, 100*corpusMinRecall)
	t.Logf("false refusals on acceptable: %.1f%% (%d/%d, target ≤ %.0f%%)", 100*falseRefusals, acc.total-acc.right, acc.total, 100*corpusMaxFalseRefuse)
	t.Logf("discouraged flagged: %.1f%% (%d/%d, target ≥ %.0f%%), refused instead: %d", 100*flagged, disc.right, disc.total, 100*corpusMinFlagged, discRefused)
	keys := make([]string, 0, len(perCat))
	for k := range perCat {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t.Logf("  %-30s %3d/%3d right", k, perCat[k].right, perCat[k].total)
	}

	if len(corpus) < corpusMinSize {
		t.Errorf("corpus has %d replies, want at least %d", len(corpus), corpusMinSize)
	}
	for _, cat := range []domain.Category{domain.CatShirking, domain.CatCold, domain.CatBlaming, domain.CatSarcastic,
		domain.CatHurrying, domain.CatFlatRefusal, domain.CatVulgar} {
		if perCat["forbidden/"+string(cat)] == nil {
			t.Errorf("corpus has no forbidden %s reply", cat)
		}
	}
	for _, cat := range []domain.Category{domain.CatVague, domain.CatAbsolutePromise, domain.CatJargon} {
		if perCat["discouraged/"+string(cat)] == nil {
			t.Errorf("corpus has no discouraged %s reply", cat)
		}
	}
	if recall < corpusMinRecall {
		t.Errorf("recall on forbidden replies %.1f%% < %.0f%%", 100*recall, 100*corpusMinRecall)
	}
	if falseRefusals > corpusMaxFalseRefuse {
		t.Errorf("false refusals on acceptable replies %.1f%% > %.0f%%", 100*falseRefusals, 100*corpusMaxFalseRefuse)
	}
	if flagged < corpusMinFlagged {
		t.Errorf("discouraged replies flagged %.1f%% < %.0f%%", 100*flagged, 100*corpusMinFlagged)
	}
	if ratio(discRefused, disc.total) > corpusMaxFalseRefuse {
		t.Errorf("%d discouraged replies refused (> %.0f%%)", discRefused, 100*corpusMaxFalseRefuse)
	}
}
