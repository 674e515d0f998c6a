// Package demo makes a realistic history of a shop as its services would
// announce it — the domain events of a month of chats (answered in and out
// of the 3-minute target, rated, transferred, coming back), 留言, orders
// with their ship promise, complaints with their first-response clock and
// after-sale cases with causes and refunds — so the KPI report, the SLA
// report, the cause analysis and the dashboard show something on a fresh
// machine (`make seed-demo`). The history is deterministic: the same shop
// and days give the same events with the same ids, so importing it twice
// changes nothing (the inbox de-duplicates by event id).
package demo

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	aftersalev1 "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	commonv1 "github.com/kefu-suite/kefu/proto/gen/shop/common/v1"
	eventsv1 "github.com/kefu-suite/kefu/proto/gen/shop/events/v1"
	orderv1 "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
	"github.com/kefu-suite/kefu/services/platform/outbox"
	"github.com/kefu-suite/kefu/workflows/policy"
)

// terms are the current policy's durations the demo's clocks run by, so
// that the month looks like one the services would have recorded (a
// policy change moves the demo with it).
var terms = func() demoTerms {
	p, err := policy.Select("", 1)
	if err != nil {
		panic("demo: the embedded policy does not load: " + err.Error())
	}
	return demoTerms{p.Version, p.Conversation.FirstResponse.D(), p.Conversation.OfflineAnswer.D(),
		p.Order.ShipPromise.D(), p.AfterSale.SellerResponse.Transaction.D(), p.Complaint.FirstResponse.D()}
}()

type demoTerms struct {
	version                                                    string
	chat, offline, shipPromise, sellerResponse, complaintFirst time.Duration
}

// China is the shop's time zone: a demo day is a China calendar day.
var China = time.FixedZone("CST", 8*3600)

// Staff of the demo shop: pre-sale and after-sale agents.
var (
	PreSale   = []string{"agent_li", "agent_wang", "agent_zhao"}
	AfterSale = []string{"agent_chen", "agent_liu"}
)

// products are the seed catalogue's (prd_seed01 … prd_seed30) with a
// price in fen; returns cluster on a few of them, as in a real shop.
func product(r *rand.Rand) (id string, priceFen int64) {
	n := 1 + r.IntN(30)
	if r.IntN(3) == 0 {
		n = 1 + r.IntN(6) // the best sellers
	}
	return fmt.Sprintf("prd_seed%02d", n), int64(2900 + 1000*(n%12))
}

// Month is the history of shop over the days days ending with last (a day
// in China time; the history stops at its end), oldest first. Each day has
// 35–90 chats (more on weekends), orders from a third of the pre-sale
// buyers, a complaint or two and a handful of cases.
func Month(shop string, last time.Time, days int) []*eventsv1.Envelope {
	return Busy(shop, last, days, 1)
}

// Busy is Month for a shop scale times as busy (the benchmarks' shop with a
// million events: the same mix, more of everything each day).
func Busy(shop string, last time.Time, days, scale int) []*eventsv1.Envelope {
	var out []*eventsv1.Envelope
	end := time.Date(last.In(China).Year(), last.In(China).Month(), last.In(China).Day(), 0, 0, 0, 0, China)
	for d := days - 1; d >= 0; d-- {
		out = append(out, dayOf(shop, end.AddDate(0, 0, -d), scale)...)
	}
	return out
}

// Day is one day of the shop (day: its midnight in China time).
func Day(shop string, day time.Time) []*eventsv1.Envelope { return dayOf(shop, day, 1) }

func dayOf(shop string, day time.Time, scale int) []*eventsv1.Envelope {
	h := fnv.New64a()
	_, _ = h.Write([]byte(shop + day.Format("2006-01-02")))
	r := rand.New(rand.NewPCG(h.Sum64(), uint64(2026+scale)))
	g := &gen{shop: shop, key: day.Format("20060102"), r: r}

	chats := 35 + r.IntN(30)
	if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
		chats += 25
	}
	for i := range chats * scale {
		g.chat(i, day.Add(8*time.Hour+time.Duration(r.IntN(14*3600))*time.Second))
	}
	for i := range (3 + r.IntN(4)) * scale {
		g.offline(i, day.Add(time.Duration(r.IntN(8*3600))*time.Second)) // 留言 left overnight
	}
	for i := range (2 + r.IntN(4)) * scale {
		g.afterSale(i, day.Add(9*time.Hour+time.Duration(r.IntN(12*3600))*time.Second))
	}
	for i := range scale {
		if r.IntN(3) == 0 {
			g.complaint(1000+i, day.Add(10*time.Hour+time.Duration(r.IntN(8*3600))*time.Second), g.buyer())
		}
	}
	return g.out
}

type gen struct {
	shop, key string
	r         *rand.Rand
	n         int
	out       []*eventsv1.Envelope
}

func (g *gen) buyer() string { return fmt.Sprintf("buyer_demo%04d", g.r.IntN(600)) }

func (g *gen) add(typ, subject, buyer string, at time.Time, actor string, payload proto.Message) {
	env, err := outbox.Envelope(context.Background(), "demo", outbox.Event{Type: typ, Subject: subject, ShopID: g.shop,
		BuyerID: buyer, Version: 1, Payload: payload})
	if err != nil {
		panic(err) // only on a payload that cannot be marshalled: a bug here
	}
	g.n++
	env.EventId = fmt.Sprintf("demo-%s-%s-%06d", g.shop, g.key, g.n)
	env.OccurredAt = timestamppb.New(at)
	if actor != "" {
		env.Actor = &commonv1.Actor{Subject: actor, Role: "agent"}
	}
	g.out = append(g.out, env)
}

// chat: most answered within a minute or two, some late, a few never;
// most rated well; a third of the pre-sale buyers order within hours;
// the odd one comes back the next hour or complains.
func (g *gen) chat(i int, at time.Time) {
	r, ts := g.r, timestamppb.New
	ses, buyer := fmt.Sprintf("ses_demo%s%04d", g.key, i), g.buyer()
	group, agents := commonv1.AgentGroup_AGENT_GROUP_PRE_SALE, PreSale
	if r.IntN(10) < 3 {
		group, agents = commonv1.AgentGroup_AGENT_GROUP_AFTER_SALE, AfterSale
	}
	agent := agents[r.IntN(len(agents))]
	due := at.Add(terms.chat)
	g.add("session.opened", ses, buyer, at, "", &eventsv1.SessionOpened{SessionId: ses, Group: group, OpenedAt: ts(at),
		FirstResponseDueAt: ts(due)})
	g.add("session.assigned", ses, buyer, at, "", &eventsv1.SessionStateChanged{SessionId: ses, AssignedAgentId: agent, At: ts(at)})
	answered := r.IntN(100) >= 3
	if answered {
		wait := time.Duration(8+r.IntN(100)) * time.Second
		if r.IntN(100) < 7 {
			wait = time.Duration(190+r.IntN(400)) * time.Second // a busy moment: late
		}
		fr := at.Add(wait)
		g.add("session.first_response", ses, buyer, fr, agent, &eventsv1.SessionFirstResponse{SessionId: ses, AgentId: agent,
			FirstResponseAt: ts(fr), DueAt: ts(due)})
		if r.IntN(100) < 4 {
			g.add("session.transferred", ses, buyer, fr.Add(2*time.Minute), agent, &eventsv1.ChatTransferred{SessionId: ses})
		}
	}
	closed := at.Add(time.Duration(6+r.IntN(25)) * time.Minute)
	g.add("session.closed", ses, buyer, closed, "", &eventsv1.SessionStateChanged{SessionId: ses, At: ts(closed)})
	if answered && r.IntN(100) < 62 {
		score := []int32{5, 5, 5, 5, 5, 5, 4, 4, 4, 3, 2}[r.IntN(11)]
		g.add("session.rated", ses, buyer, closed.Add(time.Minute), "", &eventsv1.SessionRated{SessionId: ses, Score: score, AgentId: agent})
	}
	if group == commonv1.AgentGroup_AGENT_GROUP_PRE_SALE && r.IntN(100) < 34 {
		g.order(fmt.Sprintf("ord_demo%s%04d", g.key, i), buyer, closed.Add(time.Duration(1+r.IntN(180))*time.Minute))
	}
	if r.IntN(100) < 2 {
		g.complaint(i+1, closed.Add(time.Duration(1+r.IntN(20))*time.Hour), buyer)
	}
}

// order: placed with its 48-hour ship promise; shipped in time but for a
// few that ran out.
func (g *gen) order(id, buyer string, placed time.Time) {
	r, ts := g.r, timestamppb.New
	pid, _ := product(r)
	g.add("order.placed", id, buyer, placed, "", &eventsv1.OrderPlaced{OrderId: id, PlacedAt: ts(placed),
		Lines: []*orderv1.OrderLine{{ProductId: pid, Quantity: int32(1 + r.IntN(3))}}})
	due := placed.Add(terms.shipPromise)
	g.add("order.clock_armed", id, buyer, placed, "", &eventsv1.ClockArmed{Clock: "ship_promise", DueAt: ts(due), BreachOnExpiry: true,
		WhoseMove: "seller", PolicyVersion: terms.version})
	shipper := PreSale[r.IntN(len(PreSale))]
	if r.IntN(100) < 4 {
		// as the services write it: the clock fired, and its firing breached
		g.add("order.clock_fired", id, buyer, due, "", &eventsv1.ClockFired{Clock: "ship_promise", DueAt: ts(due), FiredAt: ts(due)})
		g.add("order.clock_breached", id, buyer, due, "", &eventsv1.ClockBreached{Clock: "ship_promise", DueAt: ts(due), FiredAt: ts(due)})
		g.add("order.shipped", id, buyer, due.Add(time.Duration(1+r.IntN(20))*time.Hour), shipper, &eventsv1.OrderShipped{OrderId: id})
		return
	}
	shipped := placed.Add(time.Duration(2+r.IntN(40)) * time.Hour)
	g.add("order.shipped", id, buyer, shipped, shipper, &eventsv1.OrderShipped{OrderId: id})
	g.add("order.clock_cancelled", id, buyer, shipped, shipper, &eventsv1.ClockCancelled{Clock: "ship_promise", DueAt: ts(due)})
}

var (
	caseTypes = []aftersalev1.CaseType{aftersalev1.CaseType_CASE_TYPE_REFUND_ONLY, aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND,
		aftersalev1.CaseType_CASE_TYPE_RETURN_REFUND, aftersalev1.CaseType_CASE_TYPE_EXCHANGE}
	caseReasons = []aftersalev1.CaseReason{aftersalev1.CaseReason_CASE_REASON_DAMAGED_IN_TRANSIT, aftersalev1.CaseReason_CASE_REASON_QUALITY_PROBLEM,
		aftersalev1.CaseReason_CASE_REASON_WRONG_ITEM, aftersalev1.CaseReason_CASE_REASON_NOT_AS_DESCRIBED,
		aftersalev1.CaseReason_CASE_REASON_SEVEN_DAY_NO_REASON, aftersalev1.CaseReason_CASE_REASON_WRONG_SIZE}
	causes = []aftersalev1.CaseCause{aftersalev1.CaseCause_CASE_CAUSE_PACKAGING, aftersalev1.CaseCause_CASE_CAUSE_QUALITY_CONTROL,
		aftersalev1.CaseCause_CASE_CAUSE_CARRIER, aftersalev1.CaseCause_CASE_CAUSE_WAREHOUSE,
		aftersalev1.CaseCause_CASE_CAUSE_LISTING, aftersalev1.CaseCause_CASE_CAUSE_BUYER_PREFERENCE}
	parties = []aftersalev1.ResponsibleParty{aftersalev1.ResponsibleParty_RESPONSIBLE_PARTY_MERCHANT,
		aftersalev1.ResponsibleParty_RESPONSIBLE_PARTY_MERCHANT, aftersalev1.ResponsibleParty_RESPONSIBLE_PARTY_CARRIER,
		aftersalev1.ResponsibleParty_RESPONSIBLE_PARTY_BUYER}
)

// afterSale: a case opened with its reason, cause and responsibility, the
// seller's response clock met or (rarely) breached, refunded when agreed.
func (g *gen) afterSale(i int, opened time.Time) {
	r, ts := g.r, timestamppb.New
	id, buyer := fmt.Sprintf("cas_demo%s%04d", g.key, i), g.buyer()
	pid, price := product(r)
	typ := caseTypes[r.IntN(len(caseTypes))]
	g.add("case.created", id, buyer, opened, "", &eventsv1.CaseOpened{CaseId: id, OrderId: "ord_demo_earlier",
		Type: typ, Reason: caseReasons[r.IntN(len(caseReasons))],
		Lines:          []*aftersalev1.CaseLine{{ProductId: pid, Quantity: 1}},
		RootCause:      causes[r.IntN(len(causes))],
		Responsibility: &aftersalev1.Responsibility{Party: parties[r.IntN(len(parties))]}})
	due := opened.Add(terms.sellerResponse)
	g.add("case.clock_armed", id, buyer, opened, "", &eventsv1.ClockArmed{Clock: "seller_response", DueAt: ts(due), BreachOnExpiry: true,
		WhoseMove: "seller", PolicyVersion: terms.version})
	agent := AfterSale[r.IntN(len(AfterSale))]
	if r.IntN(100) < 5 {
		// as the services write it: the clock fired, and its firing breached
		g.add("case.clock_fired", id, buyer, due, "", &eventsv1.ClockFired{Clock: "seller_response", DueAt: ts(due), FiredAt: ts(due)})
		g.add("case.clock_breached", id, buyer, due, "", &eventsv1.ClockBreached{Clock: "seller_response", DueAt: ts(due), FiredAt: ts(due)})
		return
	}
	answered := opened.Add(time.Duration(20+r.IntN(600)) * time.Minute)
	g.add("case.clock_cancelled", id, buyer, answered, agent, &eventsv1.ClockCancelled{Clock: "seller_response", DueAt: ts(due)})
	if typ != aftersalev1.CaseType_CASE_TYPE_EXCHANGE {
		g.add("case.refund_succeeded", id, buyer, answered.Add(time.Hour), "", &eventsv1.CaseStepped{CaseId: id,
			Action: aftersalev1.CaseAction_CASE_ACTION_REFUND_SUCCEEDED, Refund: &aftersalev1.Refund{AmountFen: price}})
	}
}

// complaint: filed with its 4-hour first-response clock, acknowledged in
// time but for the odd one.
func (g *gen) complaint(i int, filed time.Time, buyer string) {
	r, ts := g.r, timestamppb.New
	id := fmt.Sprintf("cmp_demo%s%04d", g.key, i)
	agent := AfterSale[r.IntN(len(AfterSale))]
	g.add("complaint.filed", id, buyer, filed, agent, &eventsv1.ComplaintFiled{ComplaintId: id, CustomerIds: []string{buyer},
		ReceivedAt: ts(filed)})
	due := filed.Add(terms.complaintFirst)
	g.add("complaint.clock_armed", id, buyer, filed, "", &eventsv1.ClockArmed{Clock: "first_response", DueAt: ts(due), BreachOnExpiry: true,
		WhoseMove: "seller", PolicyVersion: terms.version})
	if r.IntN(100) < 8 {
		// as the services write it: the clock fired, and its firing breached
		g.add("complaint.clock_fired", id, buyer, due, "", &eventsv1.ClockFired{Clock: "first_response", DueAt: ts(due), FiredAt: ts(due)})
		g.add("complaint.clock_breached", id, buyer, due, "", &eventsv1.ClockBreached{Clock: "first_response", DueAt: ts(due), FiredAt: ts(due)})
		g.add("complaint.acknowledged", id, buyer, due.Add(time.Duration(10+r.IntN(120))*time.Minute), agent, &eventsv1.ComplaintStepped{ComplaintId: id})
		return
	}
	ack := filed.Add(time.Duration(5+r.IntN(200)) * time.Minute)
	g.add("complaint.acknowledged", id, buyer, ack, agent, &eventsv1.ComplaintStepped{ComplaintId: id})
	g.add("complaint.clock_cancelled", id, buyer, ack, agent, &eventsv1.ClockCancelled{Clock: "first_response", DueAt: ts(due)})
}

// offline: a 留言 left out of hours, answered the same day (its due is
// the policy's 24 hours), one in twenty answered late.
func (g *gen) offline(i int, left time.Time) {
	r, ts := g.r, timestamppb.New
	id, buyer := fmt.Sprintf("off_demo%s%04d", g.key, i), g.buyer()
	due := left.Add(terms.offline)
	g.add("offline_message.left", id, buyer, left, "", &eventsv1.OfflineMessageChanged{OfflineMessageId: id,
		Group: commonv1.AgentGroup_AGENT_GROUP_PRE_SALE, CreatedAt: ts(left), AnswerDueAt: ts(due)})
	answered := left.Add(time.Duration(60+r.IntN(900)) * time.Minute)
	if r.IntN(20) == 0 {
		answered = due.Add(time.Duration(10+r.IntN(120)) * time.Minute)
	}
	agent := PreSale[r.IntN(len(PreSale))]
	g.add("offline_message.answered", id, buyer, answered, agent, &eventsv1.OfflineMessageChanged{OfflineMessageId: id,
		Group: commonv1.AgentGroup_AGENT_GROUP_PRE_SALE, CreatedAt: ts(left), AnswerDueAt: ts(due), AnsweredAt: ts(answered),
		AnsweredByAgentId: agent})
}
