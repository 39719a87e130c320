package modemsim_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

// restLogin posts the REST login form as a browser would.
func (b *browser) restLogin(user, pass string) map[string]any {
	b.t.Helper()
	model, _ := json.Marshal(map[string]string{"username": user, "password": pass})
	req, _ := http.NewRequest(http.MethodPost, b.sim.URL()+"/1/Device/Users/Login", strings.NewReader(url.Values{"model": {string(model)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, body, _ := b.do(req)
	return envelopeOf(b.t, body)
}

func (b *browser) restPost(path string) (int, map[string]any) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.sim.URL()+path, strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	code, body, _ := b.do(req)
	return code, envelopeOf(b.t, body)
}

func envelopeOf(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not a JSON object: %q", body)
	}
	if _, ok := m["errCode"]; !ok {
		t.Fatalf("no errCode: %q", body)
	}
	return m
}

// TestRESTSessionRules: one session at a time (a second login is busy, a
// wrong password is refused, neither takes the slot), pages need the
// session (401 with the not-logged-in envelope without it), the /data/
// pages and the /goform/ login are gone, and logout frees the slot.
func TestRESTSessionRules(t *testing.T) {
	sim := testkit.StartSim(t, modemsim.Config{Dialect: modemsim.DialectREST})
	a, b := newBrowser(t, sim), newBrowser(t, sim)
	if code, body, _ := a.get("/1/Device/CM/DsInfo"); code != http.StatusUnauthorized || envelopeOf(t, body)["errCode"] != "002" {
		t.Fatalf("page without a session: %d %s", code, body)
	}
	if got := a.restLogin("admin", "wrong"); got["result"] != "Error_Password_Wrong" {
		t.Fatalf("wrong password: %v", got)
	}
	if got := a.restLogin("admin", "password"); got["errCode"] != "000" || got["result"] != "success" {
		t.Fatalf("login: %v", got)
	}
	if got := b.restLogin("admin", "password"); got["errCode"] != "003" {
		t.Fatalf("second session: %v", got)
	}
	code, body, _ := a.get("/1/Device/CM/DsInfo")
	if code != http.StatusOK || !strings.Contains(body, "Freq_List") {
		t.Fatalf("page with the session: %d %s", code, body)
	}
	if code, _, _ := a.get("/data/dsinfo.asp"); code != http.StatusNotFound {
		t.Fatalf("/data/ page on REST firmware: %d", code)
	}
	if code, _, _ := a.get("/1/Device/CM/Nope"); code != http.StatusNotFound {
		t.Fatalf("unknown page: %d", code)
	}
	if code, got := a.restPost("/1/Device/Users/Logout"); code != http.StatusOK || got["errCode"] != "000" {
		t.Fatalf("logout: %d %v", code, got)
	}
	if got := b.restLogin("admin", "password"); got["errCode"] != "000" {
		t.Fatalf("login after the logout: %v", got)
	}
	st := sim.Stats()
	if st.Logins != 2 || st.Logouts != 1 || st.RepeatLogins != 1 || st.LoginRequests != 4 || st.PasswordElsewhere != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestRESTEventLogStatesAndFaults: the log switches between its full,
// wrapped and cleared states; rest-error answers a failure code with 200;
// lost-session answers 401.
func TestRESTEventLogStatesAndFaults(t *testing.T) {
	sim := testkit.StartSim(t, modemsim.Config{DataSet: modemsim.DefaultRESTDataSet})
	if sim.Dialect() != modemsim.DialectREST {
		t.Fatalf("dialect %s", sim.Dialect())
	}
	b := newBrowser(t, sim)
	b.restLogin("admin", "password")
	for state, first := range map[modemsim.EventLogState]string{modemsim.EventLogFull: `"index":1,"time":"01\/01\/1970 00:00:17"`,
		modemsim.EventLogWrapped: `"index":5,`, modemsim.EventLogCleared: `"index":1,"time":"11\/19\/2020 10:00:01"`} {
		sim.SetEventLog(state)
		if _, body, _ := b.get("/1/Device/CM/Log"); !strings.Contains(body, `"Log_List":[{`+first) {
			t.Errorf("log %q: %.120s", state, body)
		}
	}
	sim.SetFault(modemsim.FaultRESTError)
	if code, body, _ := b.get("/1/Device/CM/Version"); code != http.StatusOK || envelopeOf(t, body)["errCode"] != "099" {
		t.Fatalf("rest-error: %d %s", code, body)
	}
	sim.SetFault(modemsim.FaultLostSession)
	if code, _, _ := b.get("/1/Device/CM/Version"); code != http.StatusUnauthorized {
		t.Fatalf("lost-session: %d", code)
	}
}

// TestRESTDataSetNeedsRESTDialect: a REST data set is served only in the
// rest dialect, and the rest dialect serves only REST data sets.
func TestRESTDataSetNeedsRESTDialect(t *testing.T) {
	if _, err := modemsim.New(modemsim.Config{DataSet: modemsim.DefaultRESTDataSet, Dialect: modemsim.DialectCGN}); err == nil {
		t.Error("CODA-4680 in cgn accepted")
	}
	if _, err := modemsim.New(modemsim.Config{DataSet: modemsim.DefaultDataSet, Dialect: modemsim.DialectREST}); err == nil {
		t.Error("CGNV4-FX4 in rest accepted")
	}
	if modemsim.DefaultDialect(modemsim.DefaultRESTDataSet) != modemsim.DialectREST {
		t.Error("CODA-4680's default dialect")
	}
}
