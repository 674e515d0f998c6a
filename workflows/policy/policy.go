// Package policy loads the versioned SLA policy: every duration of
// DOMAIN.md that a workflow enforces, as data. Workflows pin the version they
// start with (Registry.Get(version)), so editing a rule never rewrites a
// running case; tests and demos use Shrink to run the same rules fast.
package policy

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/kefu-suite/kefu/services/platform/identity"
	"github.com/kefu-suite/kefu/services/platform/permit"
	"github.com/kefu-suite/kefu/services/platform/refundarrival"
)

//go:embed files/*.yaml
var embedded embed.FS

// Duration is a time.Duration that reads Go syntax plus whole days ("5d").
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML parses "24h", "30m", "5d", "365d".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// ParseDuration parses Go duration syntax or a whole number of days "Nd".
func ParseDuration(s string) (time.Duration, error) {
	if strings.HasSuffix(s, "d") {
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	return v, nil
}

// Policy is one version of the rules.
type Policy struct {
	Version      string       `yaml:"version"`
	Order        Order        `yaml:"order"`
	AfterSale    AfterSale    `yaml:"aftersale"`
	Conversation Conversation `yaml:"conversation"`
	Complaint    Complaint    `yaml:"complaint"`
	Logistics    Logistics    `yaml:"logistics"`
	// Insights: the KPI targets of the service manual and the windows of
	// the definitions it leaves open (services/insights).
	Insights Insights `yaml:"insights"`
	// RefundArrival: how long a refund takes to reach the buyer (DOMAIN
	// §4), counted in the Calendar's working days.
	RefundArrival RefundArrival `yaml:"refund_arrival"`
	// Calendar: China's working days, year by year (the State Council's
	// holiday notices).
	Calendar Calendar `yaml:"calendar"`
	// Permissions: who may do each state-changing operation (rank, group,
	// limits per rank), enforced by every service (services/platform/permit).
	Permissions permit.Table `yaml:"permissions"`
}

// Insights: the KPI report's targets (DOMAIN §6, seed 003 第十章) and the
// windows of the definitions the manual leaves open.
type Insights struct {
	Targets struct {
		FirstResponseRate      float64 `yaml:"first_response_rate"`
		FirstContactResolution float64 `yaml:"first_contact_resolution"`
		Satisfaction           float64 `yaml:"satisfaction"`
		ComplaintRate          float64 `yaml:"complaint_rate"`
		Conversion             float64 `yaml:"conversion"`
	} `yaml:"targets"`
	// FirstContactWindow: a chat is resolved at first contact when its
	// buyer does not come back (another chat, a complaint) this soon after
	// it closed.
	FirstContactWindow Duration `yaml:"first_contact_window"`
	// ConversionWindow: a pre-sale chat converts when its buyer places an
	// order this soon after it opened.
	ConversionWindow Duration `yaml:"conversion_window"`
	// ComplaintWindow: a complaint counts against its buyer's chats opened
	// this soon before it.
	ComplaintWindow Duration `yaml:"complaint_window"`
}

// Logistics: parcel tracking (物流跟踪).
type Logistics struct {
	// StalledAfter: a parcel with no tracking progress for this long is
	// stalled (a logistics exception on its order).
	StalledAfter Duration `yaml:"stalled_after"`
}

// Conversation: DOMAIN §2 chat service targets (§6 KPIs).
type Conversation struct {
	FirstResponse Duration `yaml:"first_response"`
	OfflineAnswer Duration `yaml:"offline_answer"`
	RatingWindow  Duration `yaml:"rating_window"`
	IdleClose     Duration `yaml:"idle_close"`
}

// Order: DOMAIN.md §3 timers.
type Order struct {
	UnpaidClose struct {
		Normal           Duration `yaml:"normal"`
		FlashSale        Duration `yaml:"flash_sale"`
		CoinRedemption   Duration `yaml:"coin_redemption"`
		TrialPostage     Duration `yaml:"trial_postage"`
		TrialSupermarket Duration `yaml:"trial_supermarket"`
		Presale          Duration `yaml:"presale"`
	} `yaml:"unpaid_close"`
	UnpaidReminder      Duration `yaml:"unpaid_reminder"`
	ShipPromise         Duration `yaml:"ship_promise"`
	ShipPromiseCampaign Duration `yaml:"ship_promise_campaign"`
	UnshippedClose      Duration `yaml:"unshipped_close"`
	// CODServiceFee (货到付款服务费): a percentage of the goods' total with a
	// minimum, added to a COD order's price. Our values (no seed names one).
	CODServiceFee struct {
		Percent int   `yaml:"percent"`
		MinFen  int64 `yaml:"min_fen"`
	} `yaml:"cod_service_fee"`
	AutoConfirm struct {
		AutoDelivery Duration `yaml:"auto_delivery"`
		Virtual      Duration `yaml:"virtual"`
		Express      Duration `yaml:"express"`
		EMS          Duration `yaml:"ems"`
		SurfaceMail  Duration `yaml:"surface_mail"`
	} `yaml:"auto_confirm"`
}

// AfterSale: DOMAIN.md §4 platform timeouts — its two tables, 交易中退款
// (seed 004 超时 (3)(4), before the buyer confirmed receipt) and 售后 (5,
// after it) — windows and service targets.
type AfterSale struct {
	SellerResponse struct {
		// 交易中退款: any request but a seven-day one.
		Transaction Duration `yaml:"transaction"`
		// 交易中退款 (4): a seven-day request, and after its reason changed.
		SevenDayNoReason Duration `yaml:"seven_day_no_reason"`
		ReasonChanged    Duration `yaml:"reason_changed"`
		// 售后 (5), by case type (a seven-day request runs its type's row).
		RefundOnlyPhysical Duration `yaml:"refund_only_physical"`
		RefundOnlyVirtual  Duration `yaml:"refund_only_virtual"`
		ReturnRefund       Duration `yaml:"return_refund"`
	} `yaml:"seller_response"`
	BuyerAfterRejection  Duration `yaml:"buyer_after_rejection"`
	BuyerReturnShipment  Duration `yaml:"buyer_return_shipment"`
	SellerConfirmReceipt struct {
		// 交易中退款 (3), by the return's method.
		Express     Duration `yaml:"express"`
		SurfaceMail Duration `yaml:"surface_mail"`
		// 售后 (5): express or surface mail alike.
		AfterSale Duration `yaml:"after_sale"`
	} `yaml:"seller_confirm_receipt"`
	ExchangeBuyerArrange Duration `yaml:"exchange_buyer_arrange"`
	Eligibility          struct {
		SevenDayWindow Duration `yaml:"seven_day_window"`
		QualityWindow  Duration `yaml:"quality_window"`
	} `yaml:"eligibility"`
	Targets struct {
		Respond            Duration `yaml:"respond"`
		Pickup             Duration `yaml:"pickup"`
		RefundAfterReceipt Duration `yaml:"refund_after_receipt"`
		ShipExchange       Duration `yaml:"ship_exchange"`
		WarnAtPercent      int      `yaml:"warn_at_percent"`
	} `yaml:"targets"`
}

// Complaint: DOMAIN.md §5 service targets, ladder authority and windows.
type Complaint struct {
	FirstResponse      Duration `yaml:"first_response"`
	FollowUp           Duration `yaml:"follow_up"`
	MajorEscalation    Duration `yaml:"major_escalation"`
	WarnAtPercent      int      `yaml:"warn_at_percent"`
	ReviewHandling     Duration `yaml:"review_handling"`
	ReviewChangeWindow Duration `yaml:"review_change_window"`
	RepeatWindow       Duration `yaml:"repeat_window"`
}

// RefundArrival: DOMAIN §4 refund channels and how long they take, from the
// moment the refund is paid. Not a clock a workflow runs: Shrink leaves it
// as it is.
type RefundArrival struct {
	OriginalPath WorkingDays `yaml:"original_path"`
	BankCard     WorkingDays `yaml:"bank_card"`
	CreditCard   WorkingDays `yaml:"credit_card"`
	// Balance (店铺余额) is clock time: the platform credits it itself,
	// holidays included.
	Balance Duration `yaml:"balance"`
}

// WorkingDays is an arrival window in working days of the Calendar.
type WorkingDays struct {
	Earliest int `yaml:"earliest"`
	Latest   int `yaml:"latest"`
}

// RefundArrivalRule is the policy's refund arrival windows on its calendar:
// the rule both the order and the after-sale service estimate with.
func (p *Policy) RefundArrivalRule() refundarrival.Rule {
	w := func(d WorkingDays) refundarrival.Window {
		return refundarrival.Window{Earliest: d.Earliest, Latest: d.Latest}
	}
	a := p.RefundArrival
	return refundarrival.Rule{OriginalPath: w(a.OriginalPath), BankCard: w(a.BankCard), CreditCard: w(a.CreditCard),
		Balance: a.Balance.D(), Calendar: p.Calendar}
}

// ChinaTime is UTC+8, the zone whose days the Calendar lists.
var ChinaTime = time.FixedZone("CST", 8*60*60)

// Calendar is China's working days (工作日): Monday–Friday, except the
// public holidays (放假), plus the weekend days worked in exchange (调休上班),
// as the State Council's notice for each year sets them. A year the
// calendar does not list is not known: its working days are taken as
// Monday–Friday, Covers says so, and a refund estimate running into it
// names the year (refundarrival.Estimate.AssumedYears) instead of failing,
// since next year's notice comes out only in November.
type Calendar struct {
	Years map[int]CalendarYear `yaml:"years"`
}

// CalendarYear is one year's notice. Its dates lie in the year, or in the
// December before (a notice may start the new year's holiday there).
type CalendarYear struct {
	DaysOff     []DaysOff   `yaml:"days_off"`
	WorkingDays []MakeUpDay `yaml:"working_days"`
}

// DaysOff is one holiday: From to To (To empty: the one day), all off.
type DaysOff struct {
	Name string `yaml:"name"`
	From Date   `yaml:"from"`
	To   Date   `yaml:"to"`
}

// Last is the holiday's last day.
func (h DaysOff) Last() Date {
	if h.To.IsZero() {
		return h.From
	}
	return h.To
}

// MakeUpDay is a Saturday or Sunday worked in exchange for the holiday For.
type MakeUpDay struct {
	Date Date   `yaml:"date"`
	For  string `yaml:"for"`
}

// Date is a calendar day, written YYYY-MM-DD.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf is the China-time day of t.
func DateOf(t time.Time) Date {
	y, m, d := t.In(ChinaTime).Date()
	return Date{y, m, d}
}

// UnmarshalYAML reads YYYY-MM-DD; a day that does not exist is an error.
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	t, err := time.Parse(time.DateOnly, n.Value)
	if err != nil {
		return fmt.Errorf("line %d: bad date %q (YYYY-MM-DD)", n.Line, n.Value)
	}
	*d = Date{t.Year(), t.Month(), t.Day()}
	return nil
}

// IsZero reports a date not set.
func (d Date) IsZero() bool { return d == Date{} }

func (d Date) time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// Weekday is the day's weekday.
func (d Date) Weekday() time.Weekday { return d.time().Weekday() }

func (d Date) String() string { return d.time().Format(time.DateOnly) }

func (d Date) within(from, to Date) bool {
	t := d.time()
	return !t.Before(from.time()) && !t.After(to.time())
}

// Covers reports whether the calendar lists the holidays of year.
func (c Calendar) Covers(year int) bool {
	_, ok := c.Years[year]
	return ok
}

// Covered lists the years the calendar lists, in order.
func (c Calendar) Covered() []int {
	ys := make([]int, 0, len(c.Years))
	for y := range c.Years {
		ys = append(ys, y)
	}
	sort.Ints(ys)
	return ys
}

// Holiday names the public holiday the China-time day of t is off for.
func (c Calendar) Holiday(t time.Time) (name string, ok bool) {
	d := DateOf(t)
	for _, y := range []int{d.Year, d.Year + 1} {
		for _, h := range c.Years[y].DaysOff {
			if d.within(h.From, h.Last()) {
				return h.Name, true
			}
		}
	}
	return "", false
}

// IsWorkingDay reports whether the China-time day of t is a working day:
// not a holiday, and Monday–Friday or a make-up day. In a year the
// calendar does not cover that is Monday–Friday.
func (c Calendar) IsWorkingDay(t time.Time) bool {
	if _, off := c.Holiday(t); off {
		return false
	}
	d := DateOf(t)
	for _, y := range []int{d.Year, d.Year + 1} {
		for _, w := range c.Years[y].WorkingDays {
			if w.Date == d {
				return true
			}
		}
	}
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// validate checks every date is in its year (or the December before), each
// holiday named and at most 15 days, no day off twice or both off and
// worked, every make-up day a Saturday or Sunday.
func (c Calendar) validate() []error {
	var errs []error
	if len(c.Years) == 0 {
		return []error{errors.New("calendar.years is empty")}
	}
	inYear := func(y int, d Date) bool { return d.Year == y || (d.Year == y-1 && d.Month == time.December) }
	seen := map[Date]string{}
	for _, y := range c.Covered() {
		cy := c.Years[y]
		where := fmt.Sprintf("calendar.years.%d", y)
		if len(cy.DaysOff) == 0 {
			errs = append(errs, fmt.Errorf("%s.days_off is empty", where))
		}
		for _, h := range cy.DaysOff {
			from, to := h.From, h.Last()
			switch {
			case strings.TrimSpace(h.Name) == "":
				errs = append(errs, fmt.Errorf("%s.days_off: the holiday from %s has no name", where, from))
			case from.IsZero():
				errs = append(errs, fmt.Errorf("%s.days_off: %s has no from date", where, h.Name))
				continue
			case !inYear(y, from) || !inYear(y, to):
				errs = append(errs, fmt.Errorf("%s.days_off: %s %s..%s is not in %d", where, h.Name, from, to, y))
				continue
			case to.time().Before(from.time()) || to.time().Sub(from.time()) >= 15*24*time.Hour:
				errs = append(errs, fmt.Errorf("%s.days_off: %s %s..%s must run forwards, at most 15 days", where, h.Name, from, to))
				continue
			}
			for t := from.time(); !t.After(to.time()); t = t.AddDate(0, 0, 1) {
				d := Date{t.Year(), t.Month(), t.Day()}
				if prev, dup := seen[d]; dup {
					errs = append(errs, fmt.Errorf("%s: %s is listed twice (%s, %s)", where, d, prev, h.Name))
				}
				seen[d] = h.Name
			}
		}
	}
	for _, y := range c.Covered() {
		where := fmt.Sprintf("calendar.years.%d.working_days", y)
		for _, w := range c.Years[y].WorkingDays {
			d := w.Date
			switch {
			case d.IsZero():
				errs = append(errs, fmt.Errorf("%s: a make-up day for %q has no date", where, w.For))
			case strings.TrimSpace(w.For) == "":
				errs = append(errs, fmt.Errorf("%s: %s does not name the holiday it makes up for", where, d))
			case !inYear(y, d):
				errs = append(errs, fmt.Errorf("%s: %s is not in %d", where, d, y))
			case d.Weekday() != time.Saturday && d.Weekday() != time.Sunday:
				errs = append(errs, fmt.Errorf("%s: %s is a %s, a working day anyway; make-up days are Saturdays or Sundays", where, d, d.Weekday()))
			default:
				if prev, dup := seen[d]; dup {
					errs = append(errs, fmt.Errorf("%s: %s is both off (%s) and a working day", where, d, prev))
				}
				seen[d] = "make-up for " + w.For
			}
		}
	}
	return errs
}

func (a RefundArrival) validate() []error {
	var errs []error
	for _, c := range []struct {
		name string
		w    WorkingDays
	}{{"original_path", a.OriginalPath}, {"bank_card", a.BankCard}, {"credit_card", a.CreditCard}} {
		if w := c.w; w.Earliest < 0 || w.Latest <= 0 || w.Earliest > w.Latest {
			errs = append(errs, fmt.Errorf("refund_arrival.%s: earliest %d, latest %d working days: want 0 ≤ earliest ≤ latest, latest > 0",
				c.name, w.Earliest, w.Latest))
		}
	}
	if a.Balance <= 0 {
		errs = append(errs, errors.New("refund_arrival.balance must be > 0"))
	}
	return errs
}

// CompensationLimits is the compensation authority per rank in fen (适度授权):
// the limits of permissions.complaint.ProposeResolution.
func (p *Policy) CompensationLimits() (agent, senior, supervisor, manager int64) {
	l := func(r identity.Rank) int64 {
		v, _ := p.Permissions.Limit("complaint.ProposeResolution", "compensation_fen", r)
		return v
	}
	return l(identity.RankAgent), l(identity.RankSeniorAgent), l(identity.RankSupervisor), l(identity.RankManager)
}

// Parse reads and validates one policy document. Unknown keys are errors,
// so a typo never silently falls back to zero.
func Parse(data []byte) (*Policy, error) {
	var p Policy
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate checks that every duration is set and positive, the percentages
// sane, the authority limits climb with rank, the refund arrival windows
// run forwards and the calendar is consistent (Calendar.validate).
func (p *Policy) Validate() error { return p.validate("") }

// ValidateSection checks one section ("order", "aftersale", "conversation",
// "complaint", "refund_arrival", "calendar", …) alone. A workflow validates
// only the rules it runs, so a policy pinned before another section was
// added still replays.
func (p *Policy) ValidateSection(section string) error { return p.validate(section) }

func (p *Policy) validate(section string) error {
	var errs []error
	if strings.TrimSpace(p.Version) == "" {
		errs = append(errs, errors.New("version is empty"))
	}
	in := func(name string) bool { return section == "" || strings.HasPrefix(name, section+".") }
	if section == "" || section == "permissions" {
		if len(p.Permissions) == 0 {
			errs = append(errs, errors.New("permissions is empty"))
		} else if err := p.Permissions.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	p.eachDuration(func(name string, d *Duration) {
		if in(name) && *d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be > 0", name))
		}
	})
	if in("order.cod_service_fee") {
		if f := p.Order.CODServiceFee; f.Percent < 0 || f.Percent >= 100 || f.MinFen < 0 {
			errs = append(errs, fmt.Errorf("order.cod_service_fee: percent %d must be in [0, 100) and min_fen %d ≥ 0", f.Percent, f.MinFen))
		}
	}
	if in("aftersale.targets.warn_at_percent") {
		if w := p.AfterSale.Targets.WarnAtPercent; w <= 0 || w >= 100 {
			errs = append(errs, fmt.Errorf("aftersale.targets.warn_at_percent %d must be in (0, 100)", w))
		}
	}
	if in("refund_arrival.") {
		errs = append(errs, p.RefundArrival.validate()...)
	}
	if in("calendar.") {
		errs = append(errs, p.Calendar.validate()...)
	}
	if in("insights.targets") {
		t := p.Insights.Targets
		for name, v := range map[string]float64{"first_response_rate": t.FirstResponseRate,
			"first_contact_resolution": t.FirstContactResolution, "complaint_rate": t.ComplaintRate, "conversion": t.Conversion} {
			if v <= 0 || v > 1 {
				errs = append(errs, fmt.Errorf("insights.targets.%s %v must be a share in (0, 1]", name, v))
			}
		}
		if t.Satisfaction < 1 || t.Satisfaction > 5 {
			errs = append(errs, fmt.Errorf("insights.targets.satisfaction %v must be a CSAT score in [1, 5]", t.Satisfaction))
		}
	}
	if in("complaint.warn_at_percent") {
		if w := p.Complaint.WarnAtPercent; w <= 0 || w >= 100 {
			errs = append(errs, fmt.Errorf("complaint.warn_at_percent %d must be in (0, 100)", w))
		}
		if a, _, _, _ := p.CompensationLimits(); a <= 0 {
			errs = append(errs, errors.New("permissions.complaint.ProposeResolution.limits.compensation_fen must give every rank an authority > 0"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("policy %q: %w", p.Version, err)
	}
	return nil
}

// eachDuration visits every duration with its YAML path.
func (p *Policy) eachDuration(fn func(string, *Duration)) {
	o, a, c, v, l, k := &p.Order, &p.AfterSale, &p.Complaint, &p.Conversation, &p.Logistics, &p.Insights
	for name, d := range map[string]*Duration{
		"order.unpaid_close.normal":                      &o.UnpaidClose.Normal,
		"order.unpaid_close.flash_sale":                  &o.UnpaidClose.FlashSale,
		"order.unpaid_close.coin_redemption":             &o.UnpaidClose.CoinRedemption,
		"order.unpaid_close.trial_postage":               &o.UnpaidClose.TrialPostage,
		"order.unpaid_close.trial_supermarket":           &o.UnpaidClose.TrialSupermarket,
		"order.unpaid_close.presale":                     &o.UnpaidClose.Presale,
		"order.unpaid_reminder":                          &o.UnpaidReminder,
		"order.ship_promise":                             &o.ShipPromise,
		"order.ship_promise_campaign":                    &o.ShipPromiseCampaign,
		"order.unshipped_close":                          &o.UnshippedClose,
		"order.auto_confirm.auto_delivery":               &o.AutoConfirm.AutoDelivery,
		"order.auto_confirm.virtual":                     &o.AutoConfirm.Virtual,
		"order.auto_confirm.express":                     &o.AutoConfirm.Express,
		"order.auto_confirm.ems":                         &o.AutoConfirm.EMS,
		"order.auto_confirm.surface_mail":                &o.AutoConfirm.SurfaceMail,
		"aftersale.seller_response.transaction":          &a.SellerResponse.Transaction,
		"aftersale.seller_response.refund_only_physical": &a.SellerResponse.RefundOnlyPhysical,
		"aftersale.seller_response.refund_only_virtual":  &a.SellerResponse.RefundOnlyVirtual,
		"aftersale.seller_response.return_refund":        &a.SellerResponse.ReturnRefund,
		"aftersale.seller_response.seven_day_no_reason":  &a.SellerResponse.SevenDayNoReason,
		"aftersale.seller_response.reason_changed":       &a.SellerResponse.ReasonChanged,
		"aftersale.buyer_after_rejection":                &a.BuyerAfterRejection,
		"aftersale.buyer_return_shipment":                &a.BuyerReturnShipment,
		"aftersale.seller_confirm_receipt.express":       &a.SellerConfirmReceipt.Express,
		"aftersale.seller_confirm_receipt.surface_mail":  &a.SellerConfirmReceipt.SurfaceMail,
		"aftersale.seller_confirm_receipt.after_sale":    &a.SellerConfirmReceipt.AfterSale,
		"aftersale.exchange_buyer_arrange":               &a.ExchangeBuyerArrange,
		"aftersale.eligibility.seven_day_window":         &a.Eligibility.SevenDayWindow,
		"aftersale.eligibility.quality_window":           &a.Eligibility.QualityWindow,
		"aftersale.targets.respond":                      &a.Targets.Respond,
		"aftersale.targets.pickup":                       &a.Targets.Pickup,
		"aftersale.targets.refund_after_receipt":         &a.Targets.RefundAfterReceipt,
		"aftersale.targets.ship_exchange":                &a.Targets.ShipExchange,
		"conversation.first_response":                    &v.FirstResponse,
		"conversation.offline_answer":                    &v.OfflineAnswer,
		"conversation.rating_window":                     &v.RatingWindow,
		"conversation.idle_close":                        &v.IdleClose,
		"complaint.first_response":                       &c.FirstResponse,
		"complaint.follow_up":                            &c.FollowUp,
		"complaint.major_escalation":                     &c.MajorEscalation,
		"complaint.review_handling":                      &c.ReviewHandling,
		"complaint.review_change_window":                 &c.ReviewChangeWindow,
		"complaint.repeat_window":                        &c.RepeatWindow,
		"logistics.stalled_after":                        &l.StalledAfter,
		"insights.first_contact_window":                  &k.FirstContactWindow,
		"insights.conversion_window":                     &k.ConversionWindow,
		"insights.complaint_window":                      &k.ComplaintWindow,
	} {
		fn(name, d)
	}
}

// Shrink returns a copy with every duration divided by factor (never below
// one second) and the version marked, e.g. "2026.1-shrunk3600": the same
// rules, run fast, for tests and demo environments.
func (p *Policy) Shrink(factor int) *Policy {
	q := *p
	q.Version = fmt.Sprintf("%s-shrunk%d", p.Version, factor)
	q.eachDuration(func(_ string, d *Duration) {
		v := time.Duration(*d) / time.Duration(factor)
		if v < time.Second {
			v = time.Second
		}
		*d = Duration(v)
	})
	return &q
}

// Registry holds every known version; running workflows look theirs up.
type Registry struct {
	byVersion map[string]*Policy
	current   string
}

// Load reads every *.yaml in dir of fsys (nil → the embedded policies).
// current names the version new workflows start with ("" → the highest).
func Load(fsys fs.FS, dir, current string) (*Registry, error) {
	if fsys == nil {
		fsys, dir = embedded, "files"
	}
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	r := &Registry{byVersion: map[string]*Policy{}}
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		p, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		if _, dup := r.byVersion[p.Version]; dup {
			return nil, fmt.Errorf("%s: version %q defined twice", n, p.Version)
		}
		r.byVersion[p.Version] = p
	}
	if len(r.byVersion) == 0 {
		return nil, fmt.Errorf("policy: no *.yaml in %s", dir)
	}
	if current == "" {
		versions := r.Versions()
		current = versions[len(versions)-1]
	}
	if _, ok := r.byVersion[current]; !ok {
		return nil, fmt.Errorf("policy: current version %q not found (have %v)", current, r.Versions())
	}
	r.current = current
	return r, nil
}

// Add registers a derived policy (e.g. a Shrink of a loaded one).
func (r *Registry) Add(p *Policy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	r.byVersion[p.Version] = p
	return nil
}

// SetCurrent chooses the version new workflows start with.
func (r *Registry) SetCurrent(version string) error {
	if _, ok := r.byVersion[version]; !ok {
		return fmt.Errorf("policy: unknown version %q", version)
	}
	r.current = version
	return nil
}

// Current is the policy new workflows pin.
func (r *Registry) Current() *Policy { return r.byVersion[r.current] }

// Get returns a pinned version.
func (r *Registry) Get(version string) (*Policy, error) {
	p, ok := r.byVersion[version]
	if !ok {
		return nil, fmt.Errorf("policy: unknown version %q", version)
	}
	return p, nil
}

// Versions lists the known versions, sorted.
func (r *Registry) Versions() []string {
	v := make([]string, 0, len(r.byVersion))
	for k := range r.byVersion {
		v = append(v, k)
	}
	sort.Strings(v)
	return v
}

// Select returns the policy that new workflows pin: the embedded version
// named (or the newest when version is ""), shrunk by factor when factor > 1
// (demo stacks and integration tests: the same rules, run fast).
func Select(version string, factor int) (*Policy, error) {
	r, err := Load(nil, "", version)
	if err != nil {
		return nil, err
	}
	p := r.Current()
	if factor > 1 {
		p = p.Shrink(factor)
	}
	return p, nil
}
