package domain

import (
	"fmt"
	"time"
)

// A buyer whose parcel has a logistics problem (stalled, a carrier
// exception, returned to sender) is served first when they ask about it
// (seed 000: 抢在客户前面发现问题 — and when the buyer comes first, they do
// not wait behind routine questions).

// AboutTheProblem reports whether a new chat is about the buyer's parcel
// problem: it names the order of the problem (alertForOrder), or it names
// no order and asks where an order is (order status, a logistics
// exception, or no topic given) while the buyer has a problem parcel.
func AboutTheProblem(topic Topic, orderNamed, alertForOrder, alertAny bool) bool {
	if orderNamed {
		return alertForOrder
	}
	switch topic {
	case TopicUnspecified, TopicOrderStatus, TopicLogisticsException:
		return alertAny
	}
	return false
}

// LogisticsProblemText is the system message in an open chat when the
// buyer's parcel gets a problem.
func LogisticsProblemText(orderID, trackingNumber, detail string, since time.Time) string {
	return fmt.Sprintf("【系统消息】您的订单 %s 的包裹（运单号 %s）物流异常：%s（自 %s 起）。客服将优先为您处理。",
		orderID, trackingNumber, detail, since.In(cst).Format("01-02 15:04"))
}

var cst = time.FixedZone("CST", 8*60*60)
