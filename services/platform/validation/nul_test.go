package validation_test

import (
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/platform/validation"
)

// A NUL character passes the contract's rules (it is valid UTF-8) but no
// PostgreSQL text can hold it: the one interceptor refuses it, naming the
// field, at any depth.
func TestNULIsInvalidArgumentOnItsField(t *testing.T) {
	v, err := validation.New()
	if err != nil {
		t.Fatal(err)
	}
	req := func() *cataloguev1.CreateFaqRequest {
		return &cataloguev1.CreateFaqRequest{RequestId: "req_12345678", Faq: &cataloguev1.Faq{
			Question: "能开发票吗？", Answer: "可以。", Keywords: []string{"发票", "开票"},
			Topic: cataloguev1.FaqTopic_FAQ_TOPIC_PAYMENT_INVOICE}}
	}
	if err := v.Check(req()); err != nil {
		t.Fatalf("a clean request: %v", err)
	}
	nested := req()
	nested.Faq.Answer = "可以\x00。"
	listed := req()
	listed.Faq.Keywords[1] = "开\x00票"
	for want, m := range map[string]*cataloguev1.CreateFaqRequest{"faq.answer": nested, "faq.keywords[1]": listed} {
		st := status.Convert(v.Check(m))
		if st.Code() != codes.InvalidArgument || len(st.Details()) != 1 {
			t.Fatalf("%s: %v", want, st)
		}
		fv := st.Details()[0].(*errdetails.BadRequest).GetFieldViolations()[0]
		if fv.GetField() != want || fv.GetReason() != "string.no_nul" {
			t.Fatalf("want %s/string.no_nul, got %s/%s", want, fv.GetField(), fv.GetReason())
		}
	}
}
