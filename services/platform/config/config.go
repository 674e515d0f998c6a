// Package config loads a binary's typed configuration from the environment,
// once, at start, and reports every bad or missing variable together.
// It is the only package that reads the environment (DESIGN.md convention 2).
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

// Loader reads variables through a lookup function and collects errors.
type Loader struct {
	lookup func(string) (string, bool)
	errs   []error
}

// New returns a loader over lookup (os.LookupEnv, or a map in tests).
func New(lookup func(string) (string, bool)) *Loader { return &Loader{lookup: lookup} }

// FromOS returns a loader over the process environment.
func FromOS() *Loader { return New(os.LookupEnv) }

// FromMap returns a loader over a fixed map (tests, embedded use).
func FromMap(m map[string]string) *Loader {
	return New(func(k string) (string, bool) { v, ok := m[k]; return v, ok })
}

func (l *Loader) get(key string) (string, bool) {
	v, ok := l.lookup(key)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func (l *Loader) fail(key, format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

// String returns the variable or def.
func (l *Loader) String(key, def string) string {
	if v, ok := l.get(key); ok {
		return v
	}
	return def
}

// Required returns the variable and records an error when it is unset.
func (l *Loader) Required(key string) string {
	v, ok := l.get(key)
	if !ok {
		l.fail(key, "required but not set")
	}
	return v
}

// Int returns the variable as an int in [min, max], or def.
func (l *Loader) Int(key string, def, min, max int) int {
	v, ok := l.get(key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		l.fail(key, "not an integer: %q", v)
		return def
	}
	if n < min || n > max {
		l.fail(key, "%d is outside [%d, %d]", n, min, max)
		return def
	}
	return n
}

// Duration returns the variable as a Go duration ("30s", "5m"), > 0, or def.
func (l *Loader) Duration(key string, def time.Duration) time.Duration {
	v, ok := l.get(key)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		l.fail(key, "not a non-negative duration: %q", v)
		return def
	}
	return d
}

// Bool returns the variable as a bool ("true", "1", "false", "0"), or def.
func (l *Loader) Bool(key string, def bool) bool {
	v, ok := l.get(key)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		l.fail(key, "not a boolean: %q", v)
		return def
	}
	return b
}

// LogLevel returns the variable as a slog level (debug, info, warn, error).
func (l *Loader) LogLevel(key string, def slog.Level) slog.Level {
	v, ok := l.get(key)
	if !ok {
		return def
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(v)); err != nil {
		l.fail(key, "not a log level: %q", v)
		return def
	}
	return lvl
}

// Err returns every problem found so far, joined, or nil.
func (l *Loader) Err() error { return errors.Join(l.errs...) }
