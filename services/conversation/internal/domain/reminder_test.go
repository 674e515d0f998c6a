package domain

import (
	"testing"
	"time"
)

func TestPaymentReminderTextNamesTheOrderAndTheTimeLeft(t *testing.T) {
	for _, tc := range []struct {
		left time.Duration
		want string
	}{
		{12 * time.Hour, "12小时"},
		{11*time.Hour + 59*time.Minute + 59*time.Second, "11小时59分"},
		{30*time.Minute + 10*time.Second, "30分钟"},
		{time.Hour - time.Nanosecond, "59分钟"},
		{5 * time.Second, "5秒"},
		{900 * time.Millisecond, "0秒"},
		{-time.Minute, "0秒"},
	} {
		if got := TimeLeft(tc.left); got != tc.want {
			t.Errorf("TimeLeft(%s) = %q, want %q", tc.left, got, tc.want)
		}
	}
	got := PaymentReminderText("ord_abc", 11*time.Hour+59*time.Minute)
	if want := "【系统消息】您的订单 ord_abc 尚未付款，还剩 11小时59分 自动关闭，请尽快付款。"; got != want {
		t.Fatalf("text %q, want %q", got, want)
	}
	payBy := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if !PaymentReminderStillTrue(payBy.Add(-time.Second), payBy) || PaymentReminderStillTrue(payBy, payBy) {
		t.Fatal("a reminder is true only before the pay-by instant")
	}
}
