// Package gateway is the REST/JSON front door: a grpc-gateway mux that calls
// the services over real gRPC connections (so their interceptors run), the
// OpenAPI document, and health endpoints.
package gateway

import (
	"log/slog"
	"strings"
	"time"

	"github.com/kefu-suite/kefu/services/platform/config"
)

// Config is the gateway's whole configuration.
type Config struct {
	HTTPAddr        string
	LogLevel        slog.Level
	OTLPEndpoint    string
	MetricsAddr     string // METRICS_ADDR: admin listener for GET /metrics; empty → not served
	ShutdownTimeout time.Duration
	CallTimeout     time.Duration // default deadline for a backend call
	// Backends: gRPC address per service; an empty one is not mounted.
	Backends map[string]string
	Auth     AuthConfig
	// CORSOrigins may call from a browser ("*" for any); empty → no CORS.
	CORSOrigins []string
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes int64
	// BodyTimeout bounds how long a request body may take to arrive
	// (BODY_READ_TIMEOUT); IdleTimeout closes idle keep-alive connections
	// (IDLE_TIMEOUT).
	BodyTimeout, IdleTimeout time.Duration
	// Token signs the verified caller's identity for the services
	// (identity.SetKeys; SERVICE_TOKEN_KEY).
	Token config.ServiceToken
}

// AuthConfig says how bearer tokens are verified.
type AuthConfig struct {
	HS256Secret string // JWT_HS256_SECRET: shared secret (local development), ≥ 32 bytes
	JWKSURL     string // JWT_JWKS_URL: RS256/ES256 keys of the identity provider (production)
	Issuer      string // JWT_ISSUER: required "iss" when set
	Audience    string // JWT_AUDIENCE: required "aud" when set
}

// Services the gateway knows how to mount, by config key prefix.
var Services = []string{"catalogue", "conversation", "order", "aftersale", "complaint", "logistics", "calendar", "insights"}

// Load reads the configuration (CATALOGUE_ADDR, ORDER_ADDR, … name backends).
func Load(l *config.Loader) (Config, error) {
	c := Config{
		HTTPAddr:        l.String("HTTP_ADDR", ":8080"),
		LogLevel:        l.LogLevel("LOG_LEVEL", slog.LevelInfo),
		OTLPEndpoint:    l.String("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
		MetricsAddr:     l.String("METRICS_ADDR", ""),
		ShutdownTimeout: l.Duration("SHUTDOWN_TIMEOUT", 15*time.Second),
		CallTimeout:     l.Duration("BACKEND_CALL_TIMEOUT", 30*time.Second),
		Backends:        map[string]string{},
		Auth: AuthConfig{
			HS256Secret: l.String("JWT_HS256_SECRET", ""),
			JWKSURL:     l.String("JWT_JWKS_URL", ""),
			Issuer:      l.String("JWT_ISSUER", ""),
			Audience:    l.String("JWT_AUDIENCE", ""),
		},
		MaxBodyBytes: int64(l.Int("MAX_BODY_BYTES", 1<<20, 1024, 64<<20)),
		BodyTimeout:  l.Duration("BODY_READ_TIMEOUT", 15*time.Second),
		IdleTimeout:  l.Duration("IDLE_TIMEOUT", 60*time.Second),
		Token:        config.LoadServiceToken(l),
	}
	for _, o := range strings.Split(l.String("CORS_ALLOWED_ORIGINS", ""), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	if c.Auth.HS256Secret == "" && c.Auth.JWKSURL == "" {
		l.Required("JWT_HS256_SECRET") // records the error: one of the two is needed
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
