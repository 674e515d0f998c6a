// Package gateway is the REST/JSON front door: a grpc-gateway mux that calls
// the services over real gRPC connections (so their interceptors run), the
// OpenAPI document, and health endpoints.
package gateway

import (
	"log/slog"
	"time"

	"github.com/kefu-suite/kefu/services/platform/config"
)

// Config is the gateway's whole configuration.
type Config struct {
	HTTPAddr        string
	LogLevel        slog.Level
	OTLPEndpoint    string
	ShutdownTimeout time.Duration
	CallTimeout     time.Duration // default deadline for a backend call
	// Backends: gRPC address per service; an empty one is not mounted.
	Backends map[string]string
}

// Services the gateway knows how to mount, by config key prefix.
var Services = []string{"catalogue", "conversation", "order", "aftersale", "complaint"}

// Load reads the configuration (CATALOGUE_ADDR, ORDER_ADDR, … name backends).
func Load(l *config.Loader) (Config, error) {
	c := Config{
		HTTPAddr:        l.String("HTTP_ADDR", ":8080"),
		LogLevel:        l.LogLevel("LOG_LEVEL", slog.LevelInfo),
		OTLPEndpoint:    l.String("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
		ShutdownTimeout: l.Duration("SHUTDOWN_TIMEOUT", 15*time.Second),
		CallTimeout:     l.Duration("BACKEND_CALL_TIMEOUT", 30*time.Second),
		Backends:        map[string]string{},
	}
	for _, s := range Services {
		if addr := l.String(envName(s), ""); addr != "" {
			c.Backends[s] = addr
		}
	}
	return c, l.Err()
}

func envName(service string) string {
	b := []byte(service)
	for i, ch := range b {
		if ch >= 'a' && ch <= 'z' {
			b[i] = ch - 'a' + 'A'
		}
	}
	return string(b) + "_ADDR"
}
