package domain

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
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
	matchAnywhere    = "anywhere"
	matchClause      = "clause"       // lead-ins before, particles after, nothing else in the clause
	matchClauseStart = "clause_start" // only lead-ins before it in its clause
	matchClauseEnd   = "clause_end"   // only particles after it in its clause
)

type rule struct {
	ID       string   `json:"id"`
	Category Category `json:"category"`
	Severity Severity `json:"severity"`
	Match    string   `json:"match"`
	Phrases  []string `json:"phrases"`
	// Patterns: RE2 regular expressions over the normalised text (write them
	// half-width and lower case; no ^ or $ — use the match modes).
	Patterns     []string `json:"patterns"`
	UnlessBefore []string `json:"unless_before"`
	UnlessAfter  []string `json:"unless_after"`
	// Bare (clause and clause_end rules): the match is harmless when a clause
	// with content follows it — "没有，都是实物拍摄的" answers, "没有哦" refuses.
	Bare bool `json:"bare"`
	// InQuotes: the rule applies inside quotation marks too (swearing stays
	// swearing); other rules ignore the buyer's words quoted back.
	InQuotes   bool   `json:"in_quotes"`
	Suggestion string `json:"suggestion"`
}

type phraseFile struct {
	Version         string   `json:"version"`
	ClauseLeadIns   []string `json:"clause_lead_ins"`
	ClauseParticles []string `json:"clause_particles"`
	NoContent       []string `json:"no_content"`
	QuotePairs      []string `json:"quote_pairs"`
	Rules           []rule   `json:"rules"`
}

// PhraseList is the loaded, normalised phrase list. It is immutable and
// safe for concurrent use.
type PhraseList struct {
	version string
	// sets: word lists a clause check composes a text of; 0 is the lead-ins,
	// 1 the particles, then per clause rule lead-ins and particles plus the
	// rule's own phrases (不行不行, 没有没有)
	sets [][][]rune
	// filler: lead-ins, particles, the no_content words (apologies, thanks)
	// and the bare refusals themselves — a clause made of only these does
	// not answer anything ("不行，这个真不行", "没有，不好意思").
	filler  [][]rune
	quotes  [][2]rune
	entries []entry
}

type entry struct {
	rule   *rule
	phrase []rune         // normalised; nil for a pattern
	re     *regexp.Regexp // a pattern
	ascii  bool           // match on word boundaries
	before [][]rune
	after  [][]rune
	// what may stand before / after the match in its clause (indexes into
	// PhraseList.sets)
	leadIns, particles int
}

const (
	setLeadIns   = 0
	setParticles = 1
)

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
	pl := &PhraseList{version: f.Version, sets: [][][]rune{normAll(f.ClauseLeadIns), normAll(f.ClauseParticles)}}
	filler := slices.Concat(f.ClauseLeadIns, f.ClauseParticles, f.NoContent)
	for _, q := range f.QuotePairs {
		rs := []rune(q)
		if len(rs) != 2 {
			return nil, fmt.Errorf("phrase list: quote pair %q is not two characters", q)
		}
		pl.quotes = append(pl.quotes, [2]rune{normRune(rs[0]), normRune(rs[1])})
	}
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
		switch r.Match {
		case matchAnywhere, matchClause, matchClauseStart, matchClauseEnd:
		default:
			return nil, fmt.Errorf("phrase list: rule %q: unknown match %q", r.ID, r.Match)
		}
		if r.Bare && r.Match != matchClause && r.Match != matchClauseEnd {
			return nil, fmt.Errorf("phrase list: rule %q: bare needs match clause or clause_end", r.ID)
		}
		if r.ID == "" || len(r.Phrases)+len(r.Patterns) == 0 || r.Suggestion == "" {
			return nil, fmt.Errorf("phrase list: rule %q needs an id, phrases or patterns and a suggestion", r.ID)
		}
		if r.Bare {
			filler = append(filler, r.Phrases...)
		}
		leadIns, particles := setLeadIns, setParticles
		if r.Match != matchAnywhere && len(r.Phrases) > 0 {
			leadIns, particles = len(pl.sets), len(pl.sets)+1
			pl.sets = append(pl.sets, normAll(slices.Concat(f.ClauseLeadIns, r.Phrases)),
				normAll(slices.Concat(f.ClauseParticles, r.Phrases)))
		}
		for _, p := range r.Patterns {
			re, err := regexp.Compile(p)
			if err != nil {
				return nil, fmt.Errorf("phrase list: rule %q: pattern %q: %w", r.ID, p, err)
			}
			if re.MatchString("") {
				return nil, fmt.Errorf("phrase list: rule %q: pattern %q matches the empty text", r.ID, p)
			}
			if other, dup := seen["re:"+p]; dup {
				return nil, fmt.Errorf("phrase list: pattern %q is in both %s and %s", p, other, r.ID)
			}
			seen["re:"+p] = r.ID
			pl.entries = append(pl.entries, entry{rule: r, re: re,
				before: normAll(r.UnlessBefore), after: normAll(r.UnlessAfter), leadIns: leadIns, particles: particles})
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
				before: normAll(r.UnlessBefore), after: normAll(r.UnlessAfter), leadIns: leadIns, particles: particles})
		}
	}
	pl.filler = normAll(filler)
	return pl, nil
}

// Version of the list.
func (pl *PhraseList) Version() string { return pl.version }

// Phrases lists every phrase of a category (for tests and documentation).
func (pl *PhraseList) Phrases(c Category) []string {
	var out []string
	for _, e := range pl.entries {
		if e.rule.Category == c && e.re == nil {
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
// those of the original. A phrase matches as a substring and a pattern as an
// RE2 regular expression over the normalised text, except that
//   - ASCII phrases (SKU, sb) need non-alphanumeric neighbours ("usb" is not
//     "sb");
//   - a rule's unless_before / unless_after contexts make a match harmless
//     ("想办法" is not "没办法", "宝妈妈的" is not swearing);
//   - "clause" rules (没有, 不行, 不知道, 随便) match only when the phrase is
//     the whole clause (between punctuation), allowing lead-ins such as
//     亲/这个/真/确实 and particles such as 的/哦/了/亲: "没有。", "亲，这个
//     不行的" and "这个真不行" refuse, "这款没有现货了，给您推荐…" does not;
//     "clause_start" rules need only lead-ins before them in their clause
//     (不知道您说的…), "clause_end" only particles after them (…我不管了);
//   - "bare" rules (the flat refusals) match only when no clause with
//     content follows: "没有哦" and "优惠？没有" refuse, "没有哦亲，都是实物
//     拍摄的" answers; a following clause of only lead-ins, particles,
//     no_content words (不好意思, 抱歉) and bare refusals is no content
//     ("不行，这个真不行", "没有，不好意思"), nor is one with a forbidden finding
//     ("没有，自己看尺码表");
//   - text between quotation marks (quote_pairs: “…”, 「…」, 《…》) is the
//     buyer's words or a title, checked only by in_quotes rules (swearing),
//     unless the reply is nothing but the quotation.
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
	sc := newScan(pl, norm)
	quoted := pl.quotedRunes(norm)
	s := string(norm)
	byteAt := make([]int, len(norm)+1) // norm index → byte offset in s
	runeAt := make(map[int]int, len(norm)+1)
	for i, b := 0, 0; i <= len(norm); i++ {
		byteAt[i], runeAt[b] = b, i
		if i < len(norm) {
			b += len(string(norm[i]))
		}
	}
	var cands []Finding
	var normSpans [][2]int // cands' spans in norm indexes
	consider := func(e *entry, start, end int, bare bool) {
		if e.ascii && (start > 0 && isAlnum(norm[start-1]) || end < len(norm) && isAlnum(norm[end])) {
			return
		}
		if endsWithAny(norm[:start], e.before) || startsWithAny(norm[end:], e.after) {
			return
		}
		switch e.rule.Match {
		case matchClause:
			if !sc.startsClause(e.leadIns, start) || !sc.endsClause(e.particles, end) {
				return
			}
		case matchClauseStart:
			if !sc.startsClause(e.leadIns, start) {
				return
			}
		case matchClauseEnd:
			if !sc.endsClause(e.particles, end) {
				return
			}
		}
		if !e.rule.InQuotes && !slices.Contains(quoted[start:end], false) {
			return
		}
		if bare && sc.contentFollows(end) {
			return
		}
		os, oe := at[start], at[end-1]+1
		cands = append(cands, Finding{
			Phrase: string(orig[os:oe]), Category: e.rule.Category, Severity: e.rule.Severity,
			Start: os, End: oe, Suggestion: e.rule.Suggestion, RuleID: e.rule.ID,
		})
		normSpans = append(normSpans, [2]int{start, end})
	}
	find := func(bare bool) {
		for i := range pl.entries {
			e := &pl.entries[i]
			if e.rule.Bare != bare {
				continue
			}
			if e.re != nil {
				// every leftmost match from every start, so a match made
				// harmless by its context does not hide a later one
				for start := 0; start < len(norm); {
					m := e.re.FindStringIndex(s[byteAt[start]:])
					if m == nil {
						break
					}
					ms, me := runeAt[byteAt[start]+m[0]], runeAt[byteAt[start]+m[1]]
					if me > ms {
						consider(e, ms, me, bare)
					}
					start = ms + 1
				}
				continue
			}
			for start := 0; start+len(e.phrase) <= len(norm); start++ {
				if hasAt(norm, start, e.phrase) {
					consider(e, start, start+len(e.phrase), bare)
				}
			}
		}
	}
	find(false)
	// the bare rules look at the clauses after their match: content is a
	// clause not made of filler and without a forbidden finding of the above
	var forbidden [][2]int
	for i, c := range cands {
		if c.Severity == Forbidden {
			forbidden = append(forbidden, normSpans[i])
		}
	}
	sc.findContent(forbidden)
	find(true)
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

// quotedRunes marks the runes between an opening and a closing quotation
// mark (the marks themselves are not quoted). An unclosed mark quotes
// nothing, and neither does a reply that is only a quotation ("“不行”"):
// quoting is for the buyer's words within an answer.
func (pl *PhraseList) quotedRunes(t []rune) []bool {
	q := make([]bool, len(t))
	for i := 0; i < len(t); i++ {
		for _, p := range pl.quotes {
			if t[i] != p[0] {
				continue
			}
			if j := slices.Index(t[i+1:], p[1]); j >= 0 {
				for k := i + 1; k <= i+j; k++ {
					q[k] = true
				}
				i += j + 1
			}
			break
		}
	}
	for i, r := range t {
		if !q[i] && !isClauseBreak(r) {
			return q
		}
	}
	return make([]bool, len(t))
}

// scan holds the clause structure of one normalised text, computed once so
// that each match is classified in constant time (a 2,000-character reply of
// 不不不… has 2,000 matches).
type scan struct {
	pl     *PhraseList
	t      []rune
	starts map[int][]bool // set → [i]: t[clause start:i] is made of the set's words
	ends   map[int][]bool // set → [i]: t[i:clause end] is made of the set's words
	clause []int          // rune → index of its clause, -1 on a break
	// contentAfter[k]: a clause after clause k has content
	contentAfter []bool
}

func newScan(pl *PhraseList, t []rune) *scan {
	sc := &scan{pl: pl, t: t, starts: map[int][]bool{}, ends: map[int][]bool{}, clause: make([]int, len(t))}
	k := -1
	for i, r := range t {
		switch {
		case isClauseBreak(r):
			sc.clause[i] = -1
			continue
		case i == 0 || isClauseBreak(t[i-1]):
			k++
		}
		sc.clause[i] = k
	}
	return sc
}

// startsClause: only words of the set lie between the start of its clause
// and start.
func (sc *scan) startsClause(set, start int) bool {
	ok, done := sc.starts[set]
	if !done {
		t, words := sc.t, sc.pl.sets[set]
		ok = make([]bool, len(t)+1)
		for i := 0; i <= len(t); i++ {
			if i == 0 || isClauseBreak(t[i-1]) {
				ok[i] = true
				continue
			}
			for _, w := range words {
				if len(w) <= i && ok[i-len(w)] && hasAt(t, i-len(w), w) {
					ok[i] = true
					break
				}
			}
		}
		sc.starts[set] = ok
	}
	return ok[start]
}

// endsClause: only words of the set lie between end and the end of its
// clause.
func (sc *scan) endsClause(set, end int) bool {
	ok, done := sc.ends[set]
	if !done {
		t, words := sc.t, sc.pl.sets[set]
		ok = make([]bool, len(t)+1)
		for i := len(t); i >= 0; i-- {
			if i == len(t) || isClauseBreak(t[i]) {
				ok[i] = true
				continue
			}
			for _, w := range words {
				if i+len(w) <= len(t) && ok[i+len(w)] && hasAt(t, i, w) {
					ok[i] = true
					break
				}
			}
		}
		sc.ends[set] = ok
	}
	return ok[end]
}

// findContent decides which clauses have content — not only filler
// (lead-ins, particles, no_content words, bare refusals) and no overlap with
// a forbidden span.
func (sc *scan) findContent(forbidden [][2]int) {
	n := 0
	for _, k := range sc.clause {
		n = max(n, k+1)
	}
	content := make([]bool, n)
	for i := 0; i < len(sc.t); {
		k := sc.clause[i]
		if k < 0 {
			i++
			continue
		}
		j := i
		for j < len(sc.t) && sc.clause[j] == k {
			j++
		}
		content[k] = !composedOf(sc.t[i:j], sc.pl.filler) &&
			!slices.ContainsFunc(forbidden, func(f [2]int) bool { return f[0] < j && f[1] > i })
		i = j
	}
	sc.contentAfter = make([]bool, n)
	for k := n - 2; k >= 0; k-- {
		sc.contentAfter[k] = content[k+1] || sc.contentAfter[k+1]
	}
}

// contentFollows: a clause after the one holding the match ending at end
// has content.
func (sc *scan) contentFollows(end int) bool {
	k := sc.clause[end-1]
	return k >= 0 && k < len(sc.contentAfter) && sc.contentAfter[k]
}

func isClauseBreak(r rune) bool {
	return unicode.IsPunct(r) || unicode.IsSpace(r) || unicode.IsSymbol(r)
}

// composedOf: s is a (possibly empty) concatenation of words (dynamic
// programming over the end positions, linear in len(s) × len(words)).
func composedOf(s []rune, words [][]rune) bool {
	ok := make([]bool, len(s)+1)
	ok[0] = true
	for i := 0; i < len(s); i++ {
		if !ok[i] {
			continue
		}
		for _, w := range words {
			if hasAt(s, i, w) {
				ok[i+len(w)] = true
			}
		}
	}
	return ok[len(s)]
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
