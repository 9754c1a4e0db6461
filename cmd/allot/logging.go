package main

import (
	"io"
	"log/slog"
	"os"
	"strings"

	"allot"
)

// envOr returns the environment variable's value, or def when it is unset
// or empty (the default of a flag that an environment variable can set).
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// newLogger returns the server's logger: text (logfmt-like key=value) or
// JSON lines on w, at the level debug, info, warn or error.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, allot.Errorf(allot.EInvalid, "--log-level must be debug, info, warn or error, not '%s'.", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, allot.Errorf(allot.EInvalid, "--log-format must be text or json, not '%s'.", format)
}
