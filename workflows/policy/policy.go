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
	// Permissions: who may do each state-changing operation (rank, group,
	// limits per rank), enforced by every service (services/platform/permit).
	Permissions permit.Table `yaml:"permissions"`
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

// AfterSale: DOMAIN.md §4 platform timeouts, windows and service targets.
type AfterSale struct {
	SellerResponse struct {
		RefundOnlyPhysical Duration `yaml:"refund_only_physical"`
		RefundOnlyVirtual  Duration `yaml:"refund_only_virtual"`
		ReturnRefund       Duration `yaml:"return_refund"`
		SevenDayNoReason   Duration `yaml:"seven_day_no_reason"`
		ReasonChanged      Duration `yaml:"reason_changed"`
	} `yaml:"seller_response"`
	BuyerAfterRejection  Duration `yaml:"buyer_after_rejection"`
	BuyerReturnShipment  Duration `yaml:"buyer_return_shipment"`
	SellerConfirmReceipt struct {
		Express     Duration `yaml:"express"`
		SurfaceMail Duration `yaml:"surface_mail"`
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
// sane and the authority limits climb with rank.
func (p *Policy) Validate() error { return p.validate("") }

// ValidateSection checks one section ("order", "aftersale", "conversation",
// "complaint") alone. A workflow validates only the rules it runs, so a
// policy pinned before another section was added still replays.
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
	o, a, c, v, l := &p.Order, &p.AfterSale, &p.Complaint, &p.Conversation, &p.Logistics
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
		"aftersale.seller_response.refund_only_physical": &a.SellerResponse.RefundOnlyPhysical,
		"aftersale.seller_response.refund_only_virtual":  &a.SellerResponse.RefundOnlyVirtual,
		"aftersale.seller_response.return_refund":        &a.SellerResponse.ReturnRefund,
		"aftersale.seller_response.seven_day_no_reason":  &a.SellerResponse.SevenDayNoReason,
		"aftersale.seller_response.reason_changed":       &a.SellerResponse.ReasonChanged,
		"aftersale.buyer_after_rejection":                &a.BuyerAfterRejection,
		"aftersale.buyer_return_shipment":                &a.BuyerReturnShipment,
		"aftersale.seller_confirm_receipt.express":       &a.SellerConfirmReceipt.Express,
		"aftersale.seller_confirm_receipt.surface_mail":  &a.SellerConfirmReceipt.SurfaceMail,
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
