// Package domain holds the insights' definitions: what each KPI of the
// service manual counts (seed 003 第十章; DOMAIN §6), what an SLA clock's
// outcome is, how an after-sale case is broken down, and the reporting
// periods in China time. Everything here is pure: the projections store
// what these functions say a record contributes, and the reports turn the
// summed contributions into figures.
package domain

import (
	"time"
)

// FRT histogram: 5-second buckets up to 10 minutes, then one overflow.
const (
	HistBucket  = 5 * time.Second
	HistBuckets = 121
)

// Targets are the KPI targets and windows of the pinned policy.
type Targets struct {
	PolicyVersion          string
	FirstResponse          time.Duration // the time target (conversation.first_response)
	FirstResponseRate      float64
	FirstContactResolution float64
	Satisfaction           float64
	ComplaintRate          float64
	Conversion             float64
	FirstContactWindow     time.Duration
	ConversionWindow       time.Duration
	ComplaintWindow        time.Duration
}

// Group names as the events carry them.
const (
	GroupPreSale = "AGENT_GROUP_PRE_SALE"
)

// Session is one chat as the KPIs see it.
type Session struct {
	ID, ShopID, BuyerID string
	Group               string // at opening
	AssignedAgent       string // the agent it was last assigned to
	OpenedAt            time.Time
	FirstResponseDue    time.Time // zero: none known
	FirstResponseAt     time.Time // zero: not answered by an agent
	FirstResponseAgent  string
	Transferred         bool
	ClosedAt            time.Time // zero: open
	Score               int       // CSAT 1–5; 0: not rated
	RatedAgent          string
	ConvertedOrder      string // the order that converted it (pre-sale chats)
	Complaint           string // a complaint of its buyer within the window
	Recontacted         bool   // its buyer came back within the window of its close
}

// Agent is whose row the chat counts in: the agent who answered first, else
// the one it was assigned to, else the one it was rated for.
func (s Session) Agent() string {
	switch {
	case s.FirstResponseAgent != "":
		return s.FirstResponseAgent
	case s.AssignedAgent != "":
		return s.AssignedAgent
	}
	return s.RatedAgent
}

// KpiKey is one rollup row: a shop's China-time day, group and agent.
type KpiKey struct {
	ShopID, Day, Group, AgentID string
}

// KpiCounts are the additive counters of a rollup row.
type KpiCounts struct {
	Consultations int64 `json:"consultations,omitempty"`
	Answered      int64 `json:"answered,omitempty"`
	FRTMillis     int64 `json:"frt_ms,omitempty"`
	FRTWithin     int64 `json:"frt_within,omitempty"`
	// FRTBucket: the histogram bucket of this chat's first response (-1
	// none); summed rows carry Hist instead.
	FRTBucket  int     `json:"frt_bucket"`
	Closed     int64   `json:"closed,omitempty"`
	FCRDen     int64   `json:"fcr_den,omitempty"`
	FCRNum     int64   `json:"fcr_num,omitempty"`
	Rated      int64   `json:"rated,omitempty"`
	ScoreSum   int64   `json:"score_sum,omitempty"`
	Complained int64   `json:"complained,omitempty"`
	Presale    int64   `json:"presale,omitempty"`
	Converted  int64   `json:"converted,omitempty"`
	Hist       []int64 `json:"-"`
}

// Contribution is what one record adds to one rollup row.
type Contribution[K comparable, C any] struct {
	Key    K `json:"key"`
	Counts C `json:"counts"`
}

// Contribution is what the chat adds to the KPI rollups under the
// definitions (README "Shop insights"):
//   - a consultation, counted on the China-time day it opened, in its
//     opening group, in its agent's row;
//   - answered when an agent answered it; its first response time is from
//     opening to that answer, within target when at most the policy's;
//   - first-contact resolution over the answered chats that closed:
//     resolved when it was not transferred and its buyer did not come back
//     (another chat, a complaint) within the window of its close;
//   - rated when the buyer gave a CSAT score;
//   - complained when its buyer filed a complaint with the shop within the
//     window after it opened;
//   - a pre-sale chat converts when its buyer placed an order with the shop
//     within the window after it opened.
func (s Session) Contribution(t Targets) Contribution[KpiKey, KpiCounts] {
	c := KpiCounts{Consultations: 1, FRTBucket: -1}
	if !s.FirstResponseAt.IsZero() {
		ms := s.FirstResponseAt.Sub(s.OpenedAt).Milliseconds()
		if ms < 0 {
			ms = 0
		}
		c.Answered, c.FRTMillis = 1, ms
		if time.Duration(ms)*time.Millisecond <= t.FirstResponse {
			c.FRTWithin = 1
		}
		c.FRTBucket = int(time.Duration(ms) * time.Millisecond / HistBucket)
		if c.FRTBucket >= HistBuckets {
			c.FRTBucket = HistBuckets - 1
		}
	}
	if !s.ClosedAt.IsZero() {
		c.Closed = 1
		if c.Answered == 1 {
			c.FCRDen = 1
			if !s.Transferred && !s.Recontacted {
				c.FCRNum = 1
			}
		}
	}
	if s.Score > 0 {
		c.Rated, c.ScoreSum = 1, int64(s.Score)
	}
	if s.Complaint != "" {
		c.Complained = 1
	}
	if s.Group == GroupPreSale {
		c.Presale = 1
		if s.ConvertedOrder != "" {
			c.Converted = 1
		}
	}
	return Contribution[KpiKey, KpiCounts]{
		Key:    KpiKey{ShopID: s.ShopID, Day: Day(s.OpenedAt), Group: s.Group, AgentID: s.Agent()},
		Counts: c,
	}
}

// Add sums b into a (histograms bucket by bucket).
func (a *KpiCounts) Add(b KpiCounts) {
	a.Consultations += b.Consultations
	a.Answered += b.Answered
	a.FRTMillis += b.FRTMillis
	a.FRTWithin += b.FRTWithin
	a.Closed += b.Closed
	a.FCRDen += b.FCRDen
	a.FCRNum += b.FCRNum
	a.Rated += b.Rated
	a.ScoreSum += b.ScoreSum
	a.Complained += b.Complained
	a.Presale += b.Presale
	a.Converted += b.Converted
	if a.Hist == nil {
		a.Hist = make([]int64, HistBuckets)
	}
	for i, v := range b.Hist {
		if i < HistBuckets {
			a.Hist[i] += v
		}
	}
}

// P90 is the upper bound of the histogram bucket that holds the 90th
// percentile of the first response times (0 with no answers).
func (a KpiCounts) P90() time.Duration {
	var n int64
	for _, v := range a.Hist {
		n += v
	}
	if n == 0 {
		return 0
	}
	rank := (n*9 + 9) / 10 // ceil(0.9 n)
	var seen int64
	for i, v := range a.Hist {
		seen += v
		if seen >= rank {
			return time.Duration(i+1) * HistBucket
		}
	}
	return time.Duration(len(a.Hist)) * HistBucket
}
