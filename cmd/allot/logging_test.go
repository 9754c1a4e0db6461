package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"allot"
)

// TestNewLogger: --log-format and --log-level choose the handler and the
// least level; other values are refused with EInvalid.
func TestNewLogger(t *testing.T) {
	for _, tc := range []struct {
		name, format, level string
		wantErr             bool
		check               func(t *testing.T, out string)
	}{
		{"json lines at info drop debug", "json", "info", false, func(t *testing.T, out string) {
			var m map[string]any
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &m) != nil || m["msg"] != "shown" || m["k"] != "v" {
				t.Errorf("json output %q, want one JSON line with msg=shown k=v", out)
			}
		}},
		{"text at debug keeps debug", "text", "debug", false, func(t *testing.T, out string) {
			if !strings.Contains(out, "level=DEBUG msg=hidden") || !strings.Contains(out, "msg=shown k=v") {
				t.Errorf("text output %q, want both lines as key=value", out)
			}
		}},
		{"level names are case-insensitive", "JSON", "WARN", false, func(t *testing.T, out string) {
			if out != "" {
				t.Errorf("warn level logged %q", out)
			}
		}},
		{"unknown format refused", "xml", "info", true, nil},
		{"unknown level refused", "text", "loud", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := newLogger(&buf, tc.format, tc.level)
			if tc.wantErr {
				if allot.ErrorCode(err) != allot.EInvalid {
					t.Fatalf("err %v, want EInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("hidden")
			log.Info("shown", "k", "v")
			tc.check(t, buf.String())
		})
	}
}
