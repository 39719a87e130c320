package modemsim

import (
	"encoding/json"
	"testing"
)

func TestAmplifiedRowsDiffer(t *testing.T) {
	for _, page := range []string{"dsinfo", "usinfo", "dsofdminfo", "usofdminfo", "getConnectInfo"} {
		body, ok := amplified(page, 64<<10)
		if !ok || len(body) > 64<<10 || len(body) < 60<<10 {
			t.Fatalf("%s: %d bytes, want just under 64 KiB", page, len(body))
		}
		var rows []map[string]string
		if err := json.Unmarshal(body, &rows); err != nil {
			t.Fatalf("%s: %v", page, err)
		}
		// The field that names the row differs in every row.
		key := map[string]string{"dsinfo": "channelId", "usinfo": "channelId", "dsofdminfo": "receive", "usofdminfo": "uschindex", "getConnectInfo": "interface"}[page]
		seen := map[string]bool{}
		for _, r := range rows {
			if seen[r[key]] {
				t.Fatalf("%s: %s %q repeats", page, key, r[key])
			}
			seen[r[key]] = true
		}
	}
	if _, ok := amplified("getSysInfo", 64<<10); ok {
		t.Error("a single-record page was amplified")
	}
}
