package domain_test

import (
	"testing"

	"github.com/kefu-suite/kefu/services/conversation/internal/domain"
)

// The mechanics the corpus relies on, one case each: quotation marks,
// clause_start / clause_end, a bare refusal followed only by an apology or
// by itself, patterns.
func TestCheckRuleMechanics(t *testing.T) {
	pl := phrases(t)
	for text, want := range map[string]domain.Verdict{
		"您说“不行”是指充不进电吗？": domain.VerdictOK, // the buyer's word, quoted
		"“不行”":                domain.VerdictForbidden, // a reply that is only a quotation
		"您说“傻逼”是什么意思":         domain.VerdictForbidden, // swearing stays swearing
		"不行，这个真不行":            domain.VerdictForbidden, // a refusal is no content
		"不行不行":                domain.VerdictForbidden,
		"没有，不好意思":             domain.VerdictForbidden, // nor is an apology
		"没有哦亲，都是实物拍摄的":        domain.VerdictOK,
		"不知道您说的是哪个链接":         domain.VerdictForbidden, // clause_start
		"不知道您对这次的服务还满意吗？":     domain.VerdictOK,
		"售后的事我不管":             domain.VerdictForbidden, // clause_end
		"我们不管多晚都会回复您":         domain.VerdictOK,
		"这个价格真的不行":            domain.VerdictForbidden, // clause_end, bare
		"这个价格真的不行，不过可以送您一个赠品": domain.VerdictOK,
		"我这边也不太清楚":            domain.VerdictForbidden, // pattern
		"照片拍得不太清楚，麻烦您再拍一张":    domain.VerdictOK,
		"100%正品":              domain.VerdictDiscouraged,
		"这件T恤是100%纯棉的":        domain.VerdictOK,
	} {
		if got := pl.Check(text); got.Verdict != want {
			t.Errorf("%q: verdict %v, want %v (findings %+v)", text, got.Verdict, want, got.Findings)
		} else {
			for _, f := range got.Findings {
				if string([]rune(text)[f.Start:f.End]) != f.Phrase {
					t.Errorf("%q: offsets [%d,%d) do not point at %q", text, f.Start, f.End, f.Phrase)
				}
			}
		}
	}
}

func TestParsePhrasesRejectsBadPatterns(t *testing.T) {
	for name, doc := range map[string]string{
		"bad pattern":       `{"version":"x","rules":[{"id":"a","category":"cold","severity":"forbidden","patterns":["(x"],"suggestion":"s"}]}`,
		"empty match":       `{"version":"x","rules":[{"id":"a","category":"cold","severity":"forbidden","patterns":["x*"],"suggestion":"s"}]}`,
		"duplicate pattern": `{"version":"x","rules":[{"id":"a","category":"cold","severity":"forbidden","patterns":["x"],"suggestion":"s"},{"id":"b","category":"cold","severity":"forbidden","patterns":["x"],"suggestion":"s"}]}`,
		"bare anywhere":     `{"version":"x","rules":[{"id":"a","category":"cold","severity":"forbidden","bare":true,"phrases":["x"],"suggestion":"s"}]}`,
		"unknown match":     `{"version":"x","rules":[{"id":"a","category":"cold","severity":"forbidden","match":"word","phrases":["x"],"suggestion":"s"}]}`,
		"bad quote pair":    `{"version":"x","quote_pairs":["“"],"rules":[]}`,
	} {
		if _, err := domain.ParsePhrases([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
