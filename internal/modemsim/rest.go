package modemsim

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// The rest dialect (CODA-4680, CODA-5610Q), served from restfixtures/<set>:
// one file per page, named by its path under /1/Device/. Session rules
// (sources in fixtures/README.md):
//   - POST /1/Device/Users/Login with model={"username":…,"password":…}
//     answers an envelope (Users/Login.answers.json): success sets the
//     PHPSESSID cookie; a wrong password answers the CODA-5610Q's errCode
//     "000" with result "Error_Password_Wrong"; a login while another
//     session is active answers session_busy (errCode 003). The REST family
//     has no forcelogoff: a busy modem stays busy until that session ends
//     or idles out (Config.SessionIdle).
//   - No lock-out: no public source shows the family locking logins after
//     wrong passwords, so the simulator never does (ASSUMED; the exporter
//     never sends a refused password twice, so it would not trip one).
//   - Pages without the session answer HTTP 401 with the not_logged_in
//     envelope (xharl/hitron-coda-5610q logs in again on 401/403; the body
//     is INVENTED); POST /1/Device/Users/Logout ends the session.
//   - The /data/*.asp pages answer 404 and /goform/login 405, as the
//     family's newer firmware does for the older login (codauserid.go).
//
// Faults apply as for the /data/ pages; FaultRESTError makes every page
// answer errCode 099, FaultLostSession answers 401. The event log (CM/Log)
// can be switched to its wrapped or cleared state (SetEventLog).

// DialectREST is the CODA REST family's dialect.
const DialectREST = "rest"

// DefaultRESTDataSet is the REST data set (restfixtures/).
const DefaultRESTDataSet = "CODA-4680"

// FaultRESTError makes every REST page answer a failure envelope (errCode
// 099, the "other" answer) with HTTP 200.
const FaultRESTError Fault = "rest-error"

// EventLogState selects which CM/Log the rest dialect serves.
type EventLogState string

// The event log's states: the full ten-row buffer, the buffer after it
// wrapped (four more events, the four oldest gone), and after the user
// cleared it (two new events).
const (
	EventLogFull    EventLogState = ""
	EventLogWrapped EventLogState = "wrapped"
	EventLogCleared EventLogState = "cleared"
)

// The REST family's session endpoints.
const (
	restLoginPath  = "/1/Device/Users/Login"
	restLogoutPath = "/1/Device/Users/Logout"
)

// restSessionCookie is the REST family's session cookie.
const restSessionCookie = "PHPSESSID"

// isRESTDataSet reports whether name is a REST data set (restfixtures/).
func isRESTDataSet(name string) bool {
	_, err := fs.Stat(fixtures, path.Join("restfixtures", name))
	return name != "" && err == nil
}

// SetEventLog switches the CM/Log the rest dialect serves.
func (s *Simulator) SetEventLog(state EventLogState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.eventLog = state
}

// restAnswer returns the login answer named key from the data set's
// Users/Login.answers.json.
func (s *Simulator) restAnswer(dataSet, key string) []byte {
	b, err := fixtures.ReadFile(path.Join("restfixtures", dataSet, "Users", "Login.answers.json"))
	var answers map[string]json.RawMessage
	if err == nil && json.Unmarshal(b, &answers) == nil && answers[key] != nil {
		return answers[key]
	}
	return []byte(`{"errCode":"099","errMsg":"Internal error."}`)
}

func writeJSON(w http.ResponseWriter, code int, body []byte) {
	// The CODA-5610Q labels its JSON text/html (xharl api.py).
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// handleRESTLogin is POST /1/Device/Users/Login.
func (s *Simulator) handleRESTLogin(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.LoginRequests++
	dataSet := s.dataSet
	s.mu.Unlock()
	if s.cfg.Dialect != DialectREST {
		http.NotFound(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	var model struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal([]byte(r.PostFormValue("model")), &model); err != nil {
		writeJSON(w, http.StatusOK, s.restAnswer(dataSet, "other"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var result string
	switch {
	case model.Username != s.cfg.Username || model.Password != s.password:
		result = "wrong_password"
		s.failures++
	case s.sessionActiveLocked():
		result = "session_busy"
		s.stats.RepeatLogins++
	default:
		result = "success"
		s.failures = 0
		s.session = randomToken()
		s.lastSeen = time.Now()
		s.stats.Logins++
		http.SetCookie(w, &http.Cookie{Name: restSessionCookie, Value: s.session, Path: "/", HttpOnly: true})
	}
	s.stats.LoginAttempts = append(s.stats.LoginAttempts, LoginAttempt{Username: model.Username, Password: model.Password, Result: result})
	writeJSON(w, http.StatusOK, s.restAnswer(dataSet, result))
}

// handleRESTLogout is POST /1/Device/Users/Logout.
func (s *Simulator) handleRESTLogout(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Dialect != DialectREST {
		http.NotFound(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	_ = r.ParseForm()
	ck, _ := r.Cookie(restSessionCookie)
	s.mu.Lock()
	dataSet := s.dataSet
	if s.fault == FaultLogoutFail {
		s.mu.Unlock()
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	ours := ck != nil && ck.Value == s.session && s.session != ""
	if ours {
		s.session = ""
		s.stats.Logouts++
	}
	s.mu.Unlock()
	if !ours {
		writeJSON(w, http.StatusOK, s.restAnswer(dataSet, "not_logged_in"))
		return
	}
	writeJSON(w, http.StatusOK, []byte(`{"errCode":"000","errMsg":""}`))
}

// handleRESTPage is GET /1/Device/<group>/<page>.
func (s *Simulator) handleRESTPage(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Dialect != DialectREST {
		http.NotFound(w, r)
		return
	}
	group, page := r.PathValue("group"), r.PathValue("page")
	ck, _ := r.Cookie(restSessionCookie)
	s.mu.Lock()
	s.stats.DataRequests++
	loggedIn := ck != nil && ck.Value == s.session && s.sessionActiveLocked()
	if loggedIn {
		s.lastSeen = time.Now()
	}
	fault, dataSet, logState := s.fault, s.dataSet, s.eventLog
	s.mu.Unlock()
	if !loggedIn || fault == FaultLostSession {
		writeJSON(w, http.StatusUnauthorized, s.restAnswer(dataSet, "not_logged_in"))
		return
	}
	if group == "Users" || strings.ContainsAny(group+page, "\\.") {
		http.NotFound(w, r)
		return
	}
	file := path.Join("restfixtures", dataSet, group, page+".json")
	if group == "CM" && page == "Log" && logState != EventLogFull {
		file = path.Join("restfixtures", dataSet, "CM", "Log."+string(logState)+".json")
	}
	if s.serveHostile(w, r, fault, page, fixtureOf(file)) {
		return
	}
	body, ok := readFixture(w, r, file)
	if !ok {
		return
	}
	if fault == FaultRESTError {
		writeJSON(w, http.StatusOK, s.restAnswer(dataSet, "other"))
		return
	}
	if s.serveFault(w, r, fault, &body) {
		return
	}
	writeJSON(w, http.StatusOK, body)
}
