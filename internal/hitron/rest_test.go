package hitron

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// answer is an HTTP/1.1 answer with the given status and body.
func answer(code int, body string) string {
	return fmt.Sprintf("HTTP/1.1 %d X\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s", code, len(body), body)
}

// scriptedREST returns a client of a scripted server and the server.
func scriptedREST(t *testing.T, steps ...step) (*Client, *scriptedServer) {
	t.Helper()
	srv := startScripted(t, steps...)
	c, err := New(Options{BaseURL: &url.URL{Scheme: "http", Host: srv.ln.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, srv
}

// TestRESTLogin: each login answer gives its precise reason, a failure code
// is never a parse error, and only a lost answer leaves a session to log
// out. The answers are Users/Login.answers.json's shapes.
func TestRESTLogin(t *testing.T) {
	tests := []struct {
		name    string
		step    step
		want    error // errors.Is target; nil means logged in
		notJSON bool  // the error must be ErrNotJSON (no envelope at all)
		session bool  // a session is returned with the error
	}{
		{"success", step{answer: answer(200, `{"errCode":"000","errMsg":"","result":"success"}`)}, nil, false, false},
		{"CODA-5610Q wrong password (000 + result)", step{answer: answer(200, `{"errCode":"000","errMsg":"","result":"Error_Password_Wrong"}`)}, ErrBadCredentials, false, false},
		{"wrong password by code", step{answer: answer(200, `{"errCode":"001","errMsg":"Invalid username or password."}`)}, ErrBadCredentials, false, false},
		{"session busy", step{answer: answer(200, `{"errCode":"003","errMsg":"Another user is logged in."}`)}, ErrSessionBusy, false, false},
		{"other failure code", step{answer: answer(200, `{"errCode":"099","errMsg":"Internal error."}`)}, ErrRESTFailure, false, false},
		{"failure envelope with HTTP 401", step{answer: answer(401, `{"errCode":"001","errMsg":"Invalid username or password."}`)}, ErrBadCredentials, false, false},
		{"HTML, no envelope", step{answer: answer(200, `<html>login</html>`)}, ErrBadResponse, true, false},
		{"HTTP 500 without envelope", step{answer: answer(500, ``)}, ErrBadResponse, false, false},
		{"answer lost", step{stall: true}, context.DeadlineExceeded, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := scriptedREST(t, tt.step)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			s, err := c.Login(ctx, REST{}, Credentials{Username: "admin", Password: `p"a\ss`})
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("login: %v", err)
			case tt.want != nil && tt.name == "HTTP 500 without envelope":
				var se *StatusError
				if !errors.As(err, &se) || se.Code != 500 {
					t.Fatalf("login: %v, want a *StatusError", err)
				}
			case tt.want != nil && !errors.Is(err, tt.want) && !(tt.notJSON && errors.Is(err, ErrNotJSON)):
				t.Fatalf("login: %v, want %v", err, tt.want)
			}
			if tt.want != nil && !tt.notJSON && errors.Is(err, ErrNotJSON) {
				t.Fatalf("a failure code read as a parse error: %v", err)
			}
			if (s != nil) != (tt.want == nil || tt.session) {
				t.Fatalf("session %v with error %v", s, err)
			}
			if err != nil && strings.Contains(err.Error(), `p"a\ss`) {
				t.Fatal("the password is in the error")
			}
			if _, reqs := srv.counts(); len(reqs) != 1 || reqs[0] != "POST "+RESTLoginPath {
				t.Fatalf("requests %v", reqs)
			}
		})
	}
}

// TestRESTFetch: the envelope is read on fetch, so a lost session or a
// failure code is that reason (not a parse error); HTTP 401/403 are a lost
// session, 404 a page the firmware lacks; a dataset the family has no page
// for is ErrNotFound without a request.
func TestRESTFetch(t *testing.T) {
	tests := []struct {
		name string
		ds   Dataset
		step step
		want error // nil: the body is returned
		reqs int
	}{
		{"page", Downstream, step{answer: answer(200, `{"errCode":"000","errMsg":"","Freq_List":[]}`)}, nil, 1},
		{"not logged in by code", Downstream, step{answer: answer(200, `{"errCode":"002","errMsg":"Please login first."}`)}, ErrNotLoggedIn, 1},
		{"failure code", OFDM, step{answer: answer(200, `{"errCode":"099","errMsg":"Internal error."}`)}, ErrRESTFailure, 1},
		{"HTTP 401", SystemModel, step{answer: answer(401, `{"errCode":"002","errMsg":"Please login first."}`)}, ErrNotLoggedIn, 1},
		{"HTTP 403", SystemModel, step{answer: answer(403, ``)}, ErrNotLoggedIn, 1},
		{"HTTP 404", EventLog, step{answer: answer(404, ``)}, ErrNotFound, 1},
		{"no REST page for getLinkStatus", LinkStatus, step{}, ErrNotFound, 0},
		{"no REST page for getConnectInfo", ConnectInfo, step{}, ErrNotFound, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := scriptedREST(t, tt.step)
			s := &Session{c: c, dialect: REST{}}
			body, err := s.Fetch(context.Background(), tt.ds)
			if tt.want == nil && (err != nil || len(body) == 0) || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("fetch %s: %q, %v; want %v", tt.ds, body, err, tt.want)
			}
			if errors.Is(err, ErrNotJSON) {
				t.Fatalf("read as a parse error: %v", err)
			}
			_, reqs := srv.counts()
			if len(reqs) != tt.reqs {
				t.Fatalf("requests %v, want %d", reqs, tt.reqs)
			}
			if page, _ := RESTPageOf(tt.ds); tt.reqs == 1 && reqs[0] != "GET "+page.Path() {
				t.Fatalf("requested %s for %s", reqs[0], tt.ds)
			}
		})
	}
	t.Run("500 is an HTTP status", func(t *testing.T) {
		c, _ := scriptedREST(t, step{answer: answer(500, ``)})
		_, err := (&Session{c: c, dialect: REST{}}).Fetch(context.Background(), Upstream)
		var se *StatusError
		if !errors.As(err, &se) || se.Code != 500 {
			t.Fatalf("fetch: %v", err)
		}
	})
}

// TestRESTParse: each dataset's page is read into the same Data fields as
// its /data/ counterpart, and CM/Log into the event log.
func TestRESTParse(t *testing.T) {
	var d Data
	pages := map[Dataset]string{
		SystemModel: `{"errCode":"000","modelName":"CODA-4680-TPIA","vendorName":"Hitron Technologies","SoftwareVersion":"7.1.1.2.2b9"}`,
		Downstream:  `{"errCode":"000","Freq_List":[{"portId":"1","channelId":"9","frequency":"591000000","modulation":"QAM256","signalStrength":"3.2","snr":"40.9"}]}`,
		EventLog:    `{"errCode":"000","Log_List":[{"index":1,"time":"11\/15\/2020 03:57:38","type":"82000200","priority":"3","event":"T3"}]}`,
	}
	for ds, body := range pages {
		if err := (REST{}).Parse(&d, ds, []byte(body), 0); err != nil {
			t.Fatalf("%s: %v", ds, err)
		}
	}
	if d.Model == nil || d.Model.ModelName != "CODA-4680-TPIA" || d.System.SoftwareVersion != "7.1.1.2.2b9" {
		t.Errorf("version: %+v %+v", d.Model, d.System)
	}
	if len(d.Downstream) != 1 || d.Downstream[0].Modulation != "256QAM" || d.Downstream[0].SNR.V != 40.9 {
		t.Errorf("downstream: %+v", d.Downstream)
	}
	if d.EventLog == nil || len(d.EventLog.Entries) != 1 || d.EventLog.Entries[0].EventID != "82000200" ||
		d.EventLog.Entries[0].Time != time.Date(2020, 11, 15, 3, 57, 38, 0, time.UTC) {
		t.Errorf("event log: %+v", d.EventLog)
	}
	if err := (REST{}).Parse(&d, EventLog, []byte(`{"errCode":"000"}`), 0); !errors.Is(err, ErrNotJSON) {
		t.Errorf("a log page without Log_List: %v", err)
	}
	// The page-row bound (--probe.max-page-rows) holds for the log too,
	// rows that are no objects included; the log read before is kept.
	long := `{"errCode":"000","Log_List":[{"index":1},{"index":2},3]}`
	if err := (REST{}).Parse(&d, EventLog, []byte(long), 2); !errors.Is(err, ErrTooManyRows) || len(d.EventLog.Entries) != 1 {
		t.Errorf("a log over the row bound: %v", err)
	}
	if err := (REST{}).Parse(&d, EventLog, []byte(long), 3); err != nil || len(d.EventLog.Entries) != 2 || d.EventLog.Dropped != 1 {
		t.Errorf("a log at the row bound: %v %+v", err, d.EventLog)
	}
}

// TestRESTLogout: 000 (or an empty 200) is logged out, and so is "not
// logged in" (nothing is held); another code or an HTTP error is a failed
// logout, which the probe remembers.
func TestRESTLogout(t *testing.T) {
	tests := []struct {
		name    string
		answer  string
		wantErr bool
	}{
		{"000", answer(200, `{"errCode":"000","errMsg":""}`), false},
		{"empty 200", answer(200, ``), false},
		{"already logged out", answer(200, `{"errCode":"002","errMsg":"Please login first."}`), false},
		{"failure code", answer(200, `{"errCode":"099","errMsg":"Internal error."}`), true},
		{"HTTP 500", answer(500, ``), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := scriptedREST(t, step{answer: tt.answer})
			err := (&Session{c: c, dialect: REST{}}).Logout(context.Background(), 2*time.Second)
			if (err != nil) != tt.wantErr {
				t.Fatalf("logout: %v", err)
			}
			if _, reqs := srv.counts(); len(reqs) != 1 || reqs[0] != "POST "+RESTLogoutPath {
				t.Fatalf("requests %v", reqs)
			}
		})
	}
}

// TestDetectREST: after GET / (no preSession) and a /data/ page that is
// not JSON, a REST envelope from CM/Version means rest, whatever its code
// or status; a page that answered without a session is kept for the probe.
func TestDetectREST(t *testing.T) {
	root := step{answer: answer(200, `<html>Hitron</html>`)}
	noData := step{answer: answer(404, ``)}
	tests := []struct {
		name    string
		version string
		want    string // "" = ErrUnknownDialect
		ahead   bool
	}{
		{"401 with an envelope", answer(401, `{"errCode":"002","errMsg":"Please login first."}`), DialectREST, false},
		{"200 with a failure code", answer(200, `{"errCode":"002"}`), DialectREST, false},
		{"200 with the page", answer(200, `{"errCode":"000","modelName":"CODA-4680-TPIA"}`), DialectREST, true},
		{"404", answer(404, ``), "", false},
		{"a JSON object without errCode", answer(200, `{"modelName":"x"}`), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := scriptedREST(t, root, noData, step{answer: tt.version})
			d, s, err := c.Detect(context.Background())
			if tt.want == "" {
				if !errors.Is(err, ErrUnknownDialect) {
					t.Fatalf("Detect = %v, %v", d, err)
				}
				return
			}
			if err != nil || d.Name() != tt.want {
				t.Fatalf("Detect = %v, %v", d, err)
			}
			if _, ok := s.ahead[SystemModel]; ok != tt.ahead {
				t.Fatalf("page kept: %v", ok)
			}
			if _, reqs := srv.counts(); len(reqs) != 3 || reqs[2] != "GET "+RESTVersion.Path() {
				t.Fatalf("requests %v", reqs)
			}
		})
	}
}
