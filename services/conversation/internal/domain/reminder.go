package domain

import (
	"fmt"
	"time"
)

// PaymentReminderText is the system message that reminds a buyer to pay an
// unpaid order (催单): the order and the time left before it closes,
// rounded down (never more time than there is).
func PaymentReminderText(orderID string, left time.Duration) string {
	return fmt.Sprintf("【系统消息】您的订单 %s 尚未付款，还剩 %s 自动关闭，请尽快付款。", orderID, TimeLeft(left))
}

// TimeLeft renders a duration as a buyer reads it: 11小时59分, 12小时,
// 45分钟, 30秒 (rounded down; under a second is 0秒).
func TimeLeft(d time.Duration) string {
	d = max(d, 0)
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	switch {
	case h > 0 && m > 0:
		return fmt.Sprintf("%d小时%d分", h, m)
	case h > 0:
		return fmt.Sprintf("%d小时", h)
	case m > 0:
		return fmt.Sprintf("%d分钟", m)
	}
	return fmt.Sprintf("%d秒", s)
}

// PaymentReminderStillTrue: a reminder says the order is still waiting for
// payment; once its pay-by instant has passed the order has closed (or is
// closing), so a reminder that arrives that late is not sent.
func PaymentReminderStillTrue(now, payBy time.Time) bool { return now.Before(payBy) }
