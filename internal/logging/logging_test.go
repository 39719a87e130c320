package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.uber.org/zap"
)

func TestFormats(t *testing.T) {
	tests := []struct {
		format string
		check  func(t *testing.T, out string)
	}{
		{"logfmt", func(t *testing.T, out string) {
			for _, want := range []string{"level=warn", `msg="probe failed"`, "target=192.0.2.1", `error="no route"`, "logger=probe"} {
				if !strings.Contains(out, want) {
					t.Errorf("missing %q in %q", want, out)
				}
			}
		}},
		{"json", func(t *testing.T, out string) {
			var m map[string]any
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatalf("not JSON: %v: %q", err, out)
			}
			if m["msg"] != "probe failed" || m["target"] != "192.0.2.1" {
				t.Errorf("fields: %v", m)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := New("info", tt.format, &buf)
			if err != nil {
				t.Fatal(err)
			}
			log.Named("probe").Debug("hidden")
			log.Named("probe").Warn("probe failed", zap.String("target", "192.0.2.1"), zap.Error(errors.New("no route")))
			if strings.Contains(buf.String(), "hidden") {
				t.Error("debug line printed at info level")
			}
			tt.check(t, strings.TrimSpace(buf.String()))
		})
	}
	if _, err := New("loud", "logfmt", &bytes.Buffer{}); err == nil {
		t.Error("bad level accepted")
	}
	if _, err := New("info", "xml", &bytes.Buffer{}); err == nil {
		t.Error("bad format accepted")
	}
}
