package domain

import "testing"

func TestAboutTheProblem(t *testing.T) {
	cases := []struct {
		topic                         Topic
		orderNamed, forOrder, anyOpen bool
		want                          bool
	}{
		{TopicProductInquiry, true, true, true, true},   // names the problem order
		{TopicProductInquiry, true, false, true, false}, // names another order
		{TopicOrderStatus, false, false, true, true},    // where is my order?
		{TopicUnspecified, false, false, true, true},
		{TopicLogisticsException, false, false, true, true},
		{TopicProductInquiry, false, false, true, false}, // a product question
		{TopicAfterSale, false, false, true, false},
		{TopicOrderStatus, false, false, false, false}, // no problem parcel
	}
	for _, c := range cases {
		if got := AboutTheProblem(c.topic, c.orderNamed, c.forOrder, c.anyOpen); got != c.want {
			t.Errorf("AboutTheProblem(%d, named %v, for order %v, any %v) = %v, want %v", c.topic, c.orderNamed, c.forOrder, c.anyOpen, got, c.want)
		}
	}
}
