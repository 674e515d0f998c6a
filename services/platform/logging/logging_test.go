package logging_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/kefu-suite/kefu/services/platform/logging"
)

func TestLoggerWritesJSONAndMasksPersonalData(t *testing.T) {
	var buf bytes.Buffer
	log := logging.New(&buf, slog.LevelInfo, "order")
	log.Info("address changed", slog.String("contact_phone", "13812345678"),
		slog.String("new_address", "浙江省杭州市余杭区文一西路969号"), slog.String("order_id", "ord_1"))
	log.Debug("not written at info")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON record: %v: %s", err, buf.String())
	}
	if rec["service"] != "order" || rec["msg"] != "address changed" || rec["order_id"] != "ord_1" {
		t.Fatalf("record %v", rec)
	}
	if rec["contact_phone"] != "138****5678" {
		t.Errorf("phone %v", rec["contact_phone"])
	}
	if rec["new_address"] != "浙江省杭州市***********" {
		t.Errorf("address %v", rec["new_address"])
	}
}

func TestMaskPhoneShortValues(t *testing.T) {
	if got := logging.MaskPhone("1234"); got != "****" {
		t.Fatalf("got %q", got)
	}
	if got := logging.MaskAddress("上海"); got != "**" {
		t.Fatalf("got %q", got)
	}
}
