package modemsim

import (
	"encoding/json"
	"net/http"
	"strconv"
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

func TestHostileFaults(t *testing.T) {
	sim := start(t, Config{AmplifyBytes: 32 << 10, CookieFloodCount: 300})
	b := newBrowser(t, sim)
	if got := b.login("admin", "password", false, false); got != "success" {
		t.Fatalf("login: %q", got)
	}
	sim.SetFault(FaultAmplify)
	if code, body, _ := b.get("/data/dsinfo.asp"); code != http.StatusOK || len(body) < 30<<10 {
		t.Errorf("amplify: HTTP %d, %d bytes", code, len(body))
	}
	sim.SetFault(FaultCookieFlood)
	_, _, h := b.get("/data/getSysInfo.asp")
	if n := len(h.Values("Set-Cookie")); n != 300 {
		t.Errorf("cookie-flood: %d cookies, want 300", n)
	}
	sim.SetFault(FaultEndlessHeaders)
	req, _ := http.NewRequest(http.MethodGet, sim.URL()+"/data/dsinfo.asp", nil)
	if resp, err := b.http.Do(req); err == nil {
		_ = resp.Body.Close()
		t.Error("endless-headers: net/http read an answer (its header limit should stop it): " + strconv.Itoa(resp.StatusCode))
	}
}
