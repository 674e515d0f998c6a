package order

import (
	"time"

	"github.com/kefu-suite/kefu/workflows/policy"
)

// UnpaidCloseAfter is how long an order of the kind may stay unpaid
// (DOMAIN §3: normal 24 h; flash sale and coin redemption 30 min; trial
// 20/30 min). COD orders have no unpaid clock (0).
func UnpaidCloseAfter(p policy.Policy, k Kind) time.Duration {
	u := p.Order.UnpaidClose
	switch k {
	case KindFlashSale:
		return u.FlashSale.D()
	case KindCoinRedemption:
		return u.CoinRedemption.D()
	case KindTrialPostage:
		return u.TrialPostage.D()
	case KindTrialSupermarket:
		return u.TrialSupermarket.D()
	case KindPresale:
		return u.Presale.D()
	case KindCOD:
		return 0
	}
	return u.Normal.D()
}

// ShipPromiseAfter is the ship promise after payment: 48 h, 24 h in
// campaigns (flash sales are always campaigns).
func ShipPromiseAfter(p policy.Policy, k Kind, campaign bool) time.Duration {
	if campaign || k == KindFlashSale {
		return p.Order.ShipPromiseCampaign.D()
	}
	return p.Order.ShipPromise.D()
}

// AutoConfirmAfter is how long after the last parcel shipped the order is
// deemed received: auto-delivery 1 day, virtual 3 days, express/EMS 10 days,
// surface mail 30 days.
func AutoConfirmAfter(p policy.Policy, m Method) time.Duration {
	a := p.Order.AutoConfirm
	switch m {
	case MethodAutoDelivery:
		return a.AutoDelivery.D()
	case MethodVirtual:
		return a.Virtual.D()
	case MethodEMS:
		return a.EMS.D()
	case MethodSurfaceMail:
		return a.SurfaceMail.D()
	}
	return a.Express.D()
}
