// Package logging builds the JSON slog logger every binary uses and masks
// personal data (phone numbers, addresses) wherever it would be written.
package logging

import (
	"io"
	"log/slog"
	"strings"
	"unicode/utf8"
)

// New returns a JSON logger tagged with the service name. Attributes whose
// key names a phone or an address are masked, whatever the caller passed.
func New(w io.Writer, level slog.Leveler, service string) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Value.Kind() != slog.KindString {
				return a
			}
			k := strings.ToLower(a.Key)
			switch {
			case strings.Contains(k, "phone"):
				return slog.String(a.Key, MaskPhone(a.Value.String()))
			case strings.Contains(k, "address") || strings.Contains(k, "street"):
				return slog.String(a.Key, MaskAddress(a.Value.String()))
			}
			return a
		},
	})
	return slog.New(h).With(slog.String("service", service))
}

// MaskPhone keeps the first 3 and last 4 digits of a mobile number:
// 13812345678 → 138****5678. Shorter values are masked whole.
func MaskPhone(p string) string {
	if len(p) < 8 {
		return strings.Repeat("*", len(p))
	}
	return p[:3] + strings.Repeat("*", len(p)-7) + p[len(p)-4:]
}

// MaskAddress keeps the first 6 runes (province/city level) and masks the rest.
func MaskAddress(a string) string {
	n := utf8.RuneCountInString(a)
	if n <= 6 {
		return strings.Repeat("*", n)
	}
	r := []rune(a)
	return string(r[:6]) + strings.Repeat("*", n-6)
}
