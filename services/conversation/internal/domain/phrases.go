package domain

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// Phrase categories (DOMAIN.md §2 service language).
type Category string

// The categories of the phrase list.
const (
	CatShirking        Category = "shirking"
	CatCold            Category = "cold"
	CatBlaming         Category = "blaming"
	CatSarcastic       Category = "sarcastic"
	CatHurrying        Category = "hurrying"
	CatFlatRefusal     Category = "flat_refusal"
	CatVulgar          Category = "vulgar"
	CatVague           Category = "vague"
	CatAbsolutePromise Category = "absolute_promise"
	CatJargon          Category = "jargon"
)

// Severity of a finding.
type Severity string

// Severities, worst last.
const (
	Discouraged Severity = "discouraged"
	Forbidden   Severity = "forbidden"
)

// Verdict of a reply check: the worst severity found.
type Verdict int

// Verdicts.
const (
	VerdictOK Verdict = iota + 1
	VerdictDiscouraged
	VerdictForbidden
)

// Finding is one phrase found in a reply; Start/End are rune offsets
// (End exclusive) into the original text.
type Finding struct {
	Phrase     string
	Category   Category
	Severity   Severity
	Start, End int
	Suggestion string
	RuleID     string
}

// ReplyCheck is the result of checking a reply.
type ReplyCheck struct {
	Verdict  Verdict
	Findings []Finding
	Version  string
}

// Match modes of a rule.
const (
	matchAnywhere = "anywhere"
	matchClause   = "clause"
)

type rule struct {
	ID           string   `json:"id"`
	Category     Category `json:"category"`
	Severity     Severity `json:"severity"`
	Match        string   `json:"match"`
	Phrases      []string `json:"phrases"`
	UnlessBefore []string `json:"unless_before"`
	UnlessAfter  []string `json:"unless_after"`
	// Bare (clause rules only): the clause is harmless when a clause with
	// content follows it — "没有，都是实物拍摄的" answers, "没有哦" refuses.
	Bare       bool   `json:"bare"`
	Suggestion string `json:"suggestion"`
}

type phraseFile struct {
	Version         string   `json:"version"`
	ClauseLeadIns   []string `json:"clause_lead_ins"`
	ClauseParticles []string `json:"clause_particles"`
	Rules           []rule   `json:"rules"`
}

// PhraseList is the loaded, normalised phrase list. It is immutable and
// safe for concurrent use.
type PhraseList struct {
	version   string
	leadIns   [][]rune
	particles [][]rune
	filler    [][]rune // lead-ins and particles: a clause of only these has no content
	entries   []entry
}

type entry struct {
	rule   *rule
	phrase []rune // normalised
	ascii  bool   // match on word boundaries
	before [][]rune
	after  [][]rune
}

//go:embed phrases.json
var phrasesJSON []byte

// DefaultPhrases loads the embedded phrase list (phrases.json).
func DefaultPhrases() (*PhraseList, error) { return ParsePhrases(phrasesJSON) }

// ParsePhrases loads a phrase list document.
func ParsePhrases(doc []byte) (*PhraseList, error) {
	var f phraseFile
	if err := json.Unmarshal(doc, &f); err != nil {
		return nil, fmt.Errorf("phrase list: %w", err)
	}
	if f.Version == "" {
		return nil, fmt.Errorf("phrase list: no version")
	}
	pl := &PhraseList{version: f.Version, leadIns: normAll(f.ClauseLeadIns), particles: normAll(f.ClauseParticles),
		filler: normAll(append(slices.Clone(f.ClauseLeadIns), f.ClauseParticles...))}
	seen := map[string]string{}
	for i := range f.Rules {
		r := &f.Rules[i]
		switch r.Category {
		case CatShirking, CatCold, CatBlaming, CatSarcastic, CatHurrying, CatFlatRefusal, CatVulgar,
			CatVague, CatAbsolutePromise, CatJargon:
		default:
			return nil, fmt.Errorf("phrase list: rule %q: unknown category %q", r.ID, r.Category)
		}
		if r.Severity != Forbidden && r.Severity != Discouraged {
			return nil, fmt.Errorf("phrase list: rule %q: unknown severity %q", r.ID, r.Severity)
		}
		if r.Match == "" {
			r.Match = matchAnywhere
		}
		if r.Match != matchAnywhere && r.Match != matchClause {
			return nil, fmt.Errorf("phrase list: rule %q: unknown match %q", r.ID, r.Match)
		}
		if r.Bare && r.Match != matchClause {
			return nil, fmt.Errorf("phrase list: rule %q: bare needs match clause", r.ID)
		}
		if r.ID == "" || len(r.Phrases) == 0 || r.Suggestion == "" {
			return nil, fmt.Errorf("phrase list: rule %q needs an id, phrases and a suggestion", r.ID)
		}
		for _, p := range r.Phrases {
			n := normalize(p)
			if len(n) == 0 {
				return nil, fmt.Errorf("phrase list: rule %q: empty phrase", r.ID)
			}
			if other, dup := seen[string(n)]; dup {
				return nil, fmt.Errorf("phrase list: %q is in both %s and %s", p, other, r.ID)
			}
			seen[string(n)] = r.ID
			pl.entries = append(pl.entries, entry{rule: r, phrase: n, ascii: isASCIIWord(n),
				before: normAll(r.UnlessBefore), after: normAll(r.UnlessAfter)})
		}
	}
	return pl, nil
}

// Version of the list.
func (pl *PhraseList) Version() string { return pl.version }

// Phrases lists every phrase of a category (for tests and documentation).
func (pl *PhraseList) Phrases(c Category) []string {
	var out []string
	for _, e := range pl.entries {
		if e.rule.Category == c {
			out = append(out, string(e.phrase))
		}
	}
	return out
}

// Check finds the forbidden and discouraged phrases of text.
//
// The rule (documented in phrases.json too): text is normalised (full-width
// ASCII to half-width, lower case, invisible format characters such as
// U+200B dropped) with a map back to the original runes, so offsets are
// those of the original. A phrase matches as a substring, except that
//   - ASCII phrases (SKU, sb) need non-alphanumeric neighbours ("usb" is not
//     "sb");
//   - a rule's unless_before / unless_after contexts make a match harmless
//     ("想办法" is not "没办法", "宝妈妈的" is not swearing);
//   - "clause" rules (没有, 不行, 不知道, 随便) match only when the phrase is
//     the whole clause (between punctuation), allowing lead-ins such as 亲/这个
//     and particles such as 的/哦/了/亲: "没有。" and "亲，这个不行的" refuse,
//     "这款没有现货了，给您推荐…" and "没有没有，不客气" do not;
//   - "bare" clause rules (the flat refusals) match only when no clause with
//     content follows: "没有哦" and "优惠？没有" refuse, "没有哦亲，都是实物拍摄的"
//     answers; a following clause that is itself forbidden is no content
//     ("没有，自己看尺码表" refuses).
//
// Overlapping matches keep the leftmost, then the longest. Findings come in
// text order.
func (pl *PhraseList) Check(text string) ReplyCheck {
	orig := []rune(text)
	norm := make([]rune, 0, len(orig))
	at := make([]int, 0, len(orig)) // norm index → orig index
	for i, r := range orig {
		if unicode.Is(unicode.Cf, r) {
			continue
		}
		norm, at = append(norm, normRune(r)), append(at, i)
	}
	var cands []Finding
	find := func(bare bool) {
		for _, e := range pl.entries {
			if e.rule.Bare != bare {
				continue
			}
			for start := 0; start+len(e.phrase) <= len(norm); start++ {
				if !hasAt(norm, start, e.phrase) {
					continue
				}
				end := start + len(e.phrase)
				if e.ascii && (start > 0 && isAlnum(norm[start-1]) || end < len(norm) && isAlnum(norm[end])) {
					continue
				}
				if endsWithAny(norm[:start], e.before) || startsWithAny(norm[end:], e.after) {
					continue
				}
				if e.rule.Match == matchClause && !pl.wholeClause(norm, start, end) {
					continue
				}
				if bare && pl.contentFollows(norm, at, end, cands) {
					continue
				}
				os, oe := at[start], at[end-1]+1
				cands = append(cands, Finding{
					Phrase: string(orig[os:oe]), Category: e.rule.Category, Severity: e.rule.Severity,
					Start: os, End: oe, Suggestion: e.rule.Suggestion, RuleID: e.rule.ID,
				})
			}
		}
	}
	find(false)
	find(true) // after the others: contentFollows looks at their findings
	slices.SortStableFunc(cands, func(a, b Finding) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return (b.End - b.Start) - (a.End - a.Start)
	})
	out := ReplyCheck{Verdict: VerdictOK, Version: pl.version}
	taken := -1
	for _, c := range cands {
		if c.Start < taken {
			continue
		}
		out.Findings = append(out.Findings, c)
		taken = c.End
		switch {
		case c.Severity == Forbidden:
			out.Verdict = VerdictForbidden
		case out.Verdict == VerdictOK:
			out.Verdict = VerdictDiscouraged
		}
	}
	return out
}

// contentFollows: after the clause ending at or after end (norm indexes)
// comes a clause with content — not only lead-ins and particles, and no
// forbidden finding in it (found holds findings in original offsets; at maps
// norm to original).
func (pl *PhraseList) contentFollows(t []rune, at []int, end int, found []Finding) bool {
	i := end
	for i < len(t) && !isClauseBreak(t[i]) {
		i++
	}
	for i < len(t) {
		for i < len(t) && isClauseBreak(t[i]) {
			i++
		}
		cs := i
		for i < len(t) && !isClauseBreak(t[i]) {
			i++
		}
		if cs == i || composedOf(t[cs:i], pl.filler) {
			continue
		}
		os, oe := at[cs], at[i-1]+1
		if !slices.ContainsFunc(found, func(f Finding) bool { return f.Severity == Forbidden && f.Start < oe && f.End > os }) {
			return true
		}
	}
	return false
}

// wholeClause: the match plus lead-ins before and particles after fills its
// clause.
func (pl *PhraseList) wholeClause(t []rune, start, end int) bool {
	cs := start
	for cs > 0 && !isClauseBreak(t[cs-1]) {
		cs--
	}
	ce := end
	for ce < len(t) && !isClauseBreak(t[ce]) {
		ce++
	}
	return composedOf(t[cs:start], pl.leadIns) && composedOf(t[end:ce], pl.particles)
}

func isClauseBreak(r rune) bool {
	return unicode.IsPunct(r) || unicode.IsSpace(r) || unicode.IsSymbol(r)
}

// composedOf: s is a (possibly empty) concatenation of words.
func composedOf(s []rune, words [][]rune) bool {
	if len(s) == 0 {
		return true
	}
	for _, w := range words {
		if len(w) <= len(s) && hasAt(s, 0, w) && composedOf(s[len(w):], words) {
			return true
		}
	}
	return false
}

func hasAt(t []rune, at int, p []rune) bool {
	if at+len(p) > len(t) {
		return false
	}
	for i, r := range p {
		if t[at+i] != r {
			return false
		}
	}
	return true
}

func endsWithAny(t []rune, ps [][]rune) bool {
	for _, p := range ps {
		if len(p) <= len(t) && hasAt(t, len(t)-len(p), p) {
			return true
		}
	}
	return false
}

func startsWithAny(t []rune, ps [][]rune) bool {
	for _, p := range ps {
		if hasAt(t, 0, p) {
			return true
		}
	}
	return false
}

// normRune maps full-width ASCII to half-width and lowers case; one rune in,
// one rune out, so offsets are preserved.
func normRune(r rune) rune {
	if r >= 0xFF01 && r <= 0xFF5E {
		r -= 0xFEE0
	} else if r == 0x3000 {
		r = ' '
	}
	return unicode.ToLower(r)
}

func normalize(s string) []rune {
	rs := []rune(strings.TrimSpace(s))
	for i, r := range rs {
		rs[i] = normRune(r)
	}
	return rs
}

func normAll(ss []string) [][]rune {
	out := make([][]rune, 0, len(ss))
	for _, s := range ss {
		if n := normalize(s); len(n) > 0 {
			out = append(out, n)
		}
	}
	// longest first so composedOf and the contexts try specific words first
	slices.SortStableFunc(out, func(a, b []rune) int { return len(b) - len(a) })
	return out
}

func isASCIIWord(rs []rune) bool {
	for _, r := range rs {
		if r > unicode.MaxASCII {
			return false
		}
	}
	return true
}

func isAlnum(r rune) bool {
	return r <= unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r))
}
