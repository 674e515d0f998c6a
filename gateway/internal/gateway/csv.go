package gateway

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	insightsv1 "github.com/kefu-suite/kefu/proto/gen/shop/insights/v1"
)

// The insights reports answer CSV with format=csv (or REPORT_FORMAT_CSV):
// csvRequests asks the mux for the text/csv marshaler and names the file;
// csvMarshaler writes each report as one header line and one line per row
// (money in fen, shares as decimals). Errors keep the JSON error shape.
const mimeCSV = "text/csv"

var reportPath = regexp.MustCompile(`^/v1/shops/([^/]+)/(kpi-report|sla-report|aftersale-causes)$`)

func csvRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/v1/shops/") {
			next.ServeHTTP(w, r)
			return
		}
		m := reportPath.FindStringSubmatch(r.URL.Path)
		if m == nil {
			next.ServeHTTP(w, r)
			return
		}
		q := r.URL.Query()
		switch strings.ToLower(q.Get("format")) {
		case "csv", "report_format_csv":
			q.Set("format", "REPORT_FORMAT_CSV")
			r.URL.RawQuery = q.Encode()
			r.Header.Set("Accept", mimeCSV)
			w.Header().Set("Content-Disposition", `attachment; filename="`+m[1]+"-"+m[2]+`.csv"`)
		case "json":
			q.Set("format", "REPORT_FORMAT_JSON")
			r.URL.RawQuery = q.Encode()
		}
		next.ServeHTTP(w, r)
	})
}

type csvMarshaler struct{ runtime.Marshaler }

func (csvMarshaler) ContentType(any) string { return mimeCSV + "; charset=utf-8" }

func (m csvMarshaler) Marshal(v any) ([]byte, error) {
	var rows [][]string
	i := strconv.FormatInt
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	ratio := func(r *insightsv1.Ratio) []string {
		return []string{i(r.GetNumerator(), 10), i(r.GetDenominator(), 10), f(r.GetValue()), f(r.GetTarget()), r.GetVerdict().String()}
	}
	switch x := v.(type) {
	case *insightsv1.GetKpiReportResponse:
		head := []string{"first_day", "last_day", "scope", "group", "agent_id", "consultations",
			"frt_answered", "frt_total_seconds", "frt_mean_seconds", "frt_p90_seconds", "frt_target_seconds", "frt_verdict",
			"frt_within_num", "frt_within_den"}
		for _, k := range []string{"first_response_rate", "first_contact_resolution", "complaint_rate", "conversion"} {
			head = append(head, k+"_num", k+"_den", k, k+"_target", k+"_verdict")
		}
		head = append(head, "csat_rated", "csat_score_sum", "csat_mean", "csat_target", "csat_verdict", "rated_share_num", "rated_share_den")
		rows = append(rows, head)
		for _, r := range x.GetRows() {
			t, s := r.GetFirstResponseTime(), r.GetSatisfaction()
			line := []string{x.GetRange().GetFirstDay(), x.GetRange().GetLastDay(), r.GetScope().String(), r.GetGroup().String(),
				r.GetAgentId(), i(r.GetConsultations(), 10), i(t.GetAnswered(), 10), f(t.GetTotalSeconds()), f(t.GetMeanSeconds()),
				f(t.GetP90Seconds()), f(t.GetTargetSeconds()), t.GetVerdict().String(),
				i(t.GetWithinTarget().GetNumerator(), 10), i(t.GetWithinTarget().GetDenominator(), 10)}
			for _, q := range []*insightsv1.Ratio{r.GetFirstResponseRate(), r.GetFirstContactResolution(), r.GetComplaintRate(), r.GetConversion()} {
				line = append(line, ratio(q)...)
			}
			line = append(line, i(s.GetRated(), 10), i(s.GetScoreSum(), 10), f(s.GetMeanScore()), f(s.GetTarget()),
				s.GetVerdict().String(), i(s.GetRatedShare().GetNumerator(), 10), i(s.GetRatedShare().GetDenominator(), 10))
			rows = append(rows, line)
		}
	case *insightsv1.GetSlaReportResponse:
		rows = append(rows, []string{"first_day", "last_day", "scope", "agent_id", "clock", "due", "met", "breached", "pending",
			"breach_rate", "mean_lateness_seconds", "lateness_samples"})
		for _, r := range x.GetRows() {
			rows = append(rows, []string{x.GetRange().GetFirstDay(), x.GetRange().GetLastDay(), r.GetScope().String(), r.GetAgentId(),
				r.GetClock(), i(r.GetDue(), 10), i(r.GetMet(), 10), i(r.GetBreached(), 10), i(r.GetPending(), 10),
				f(r.GetBreachRate().GetValue()), f(r.GetMeanLatenessSeconds()), i(r.GetLatenessSamples(), 10)})
		}
	case *insightsv1.GetAfterSaleCausesResponse:
		rows = append(rows, []string{"first_day", "last_day", "section", "dimension", "key", "product_id", "product_name",
			"cases", "share", "refunded_fen", "units_ordered", "units_in_cases", "return_rate"})
		for _, c := range x.GetBreakdown() {
			rows = append(rows, []string{x.GetRange().GetFirstDay(), x.GetRange().GetLastDay(), "breakdown", c.GetDimension(),
				c.GetKey(), "", "", i(c.GetCases(), 10), f(c.GetShare()), i(c.GetRefundedFen(), 10), "", "", ""})
		}
		for _, p := range x.GetTopReturned() {
			rows = append(rows, []string{x.GetRange().GetFirstDay(), x.GetRange().GetLastDay(), "top_returned", "category",
				p.GetCategory(), p.GetProductId(), p.GetProductName(), i(p.GetCases(), 10), "", i(p.GetRefundedFen(), 10),
				i(p.GetUnitsOrdered(), 10), i(p.GetUnitsInCases(), 10), f(p.GetReturnRate())})
		}
	default:
		return m.Marshaler.Marshal(v)
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.WriteAll(rows); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
