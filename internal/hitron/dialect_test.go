package hitron

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/pin"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

const simPassword = "dialect-test-Pa55"

// simClient starts a simulated modem and returns a pinned client for it,
// with every exchange it makes recorded in *events.
func simClient(t *testing.T, cfg modemsim.Config, events *[]TraceEvent) (*modemsim.Simulator, *Client) {
	t.Helper()
	cfg.Password = simPassword
	sim := testkit.StartSim(t, cfg)
	base, _ := url.Parse(sim.URL())
	c, err := New(Options{BaseURL: base, TLS: pin.ClientConfig(pin.Options{Pin: pin.Require(sim.Fingerprint())}),
		Trace: func(ev TraceEvent) { *events = append(*events, ev) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return sim, c
}

// TestDialectsAgainstTheSimulator runs each dialect's session against the
// simulator speaking it: detection where auto can tell, login, a page,
// logout, and which requests carried the password.
func TestDialectsAgainstTheSimulator(t *testing.T) {
	tests := []struct {
		name    string
		cfg     modemsim.Config
		dialect Dialect
		// detected is what Detect must find ("" = it cannot tell).
		detected string
		logins   int
	}{
		{"cgn", modemsim.Config{Dialect: modemsim.DialectCGN}, CGN{}, DialectCGN, 1},
		{"open CODA-56", modemsim.Config{Dialect: modemsim.DialectOpen, DataSet: "CODA-56"}, Open{}, DialectOpen, 0},
		{"open CODA-45 over plain HTTP", modemsim.Config{Dialect: modemsim.DialectOpen, DataSet: "CODA-45", PlainHTTP: true}, Open{}, DialectOpen, 0},
		{"coda-userid Rogers (pws)", modemsim.Config{Dialect: modemsim.DialectCODAUserID}, CODAUserID{PasswordField: "pws"}, "", 1},
		{"coda-userid Shaw (pwd)", modemsim.Config{Dialect: modemsim.DialectCODAUserID, PasswordField: "pwd"}, CODAUserID{PasswordField: "pwd"}, "", 1},
		{"rest CODA-4680", modemsim.Config{Dialect: modemsim.DialectREST}, REST{}, DialectREST, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var events []TraceEvent
			sim, c := simClient(t, tt.cfg, &events)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			d, s, err := c.Detect(ctx)
			switch {
			case tt.detected == "" && !errors.Is(err, ErrUnknownDialect):
				t.Fatalf("Detect = %v, %v; want ErrUnknownDialect", d, err)
			case tt.detected != "" && (err != nil || d.Name() != tt.detected):
				t.Fatalf("Detect = %v, %v; want %s", d, err, tt.detected)
			}
			if st := sim.Stats(); st.LoginRequests != 0 {
				t.Fatalf("detection sent %d login requests", st.LoginRequests)
			}
			s, err = c.LoginIn(ctx, s, tt.dialect, Credentials{Username: "admin", Password: simPassword})
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			var data Data
			for _, ds := range []Dataset{SysInfo, Downstream} {
				body, err := s.Fetch(ctx, ds)
				if err != nil {
					t.Fatalf("%s: %v", ds, err)
				}
				if err := s.Parse(&data, ds, body, 0); err != nil {
					t.Fatalf("%s: %v", ds, err)
				}
			}
			if len(data.Downstream) == 0 || data.System == nil {
				t.Fatalf("nothing parsed: %+v", data)
			}
			if err := s.Logout(ctx, 3*time.Second); err != nil {
				t.Fatalf("logout: %v", err)
			}
			st := sim.Stats()
			if st.LoginRequests != tt.logins || st.SessionActive && tt.logins > 0 {
				t.Fatalf("login requests %d (want %d), session left %v", st.LoginRequests, tt.logins, st.SessionActive)
			}
			for _, a := range st.LoginAttempts {
				if a.Password != simPassword || a.Result != "success" {
					t.Fatalf("login attempt %+v", a)
				}
			}
			for _, ev := range events {
				if ev.Stage == "" {
					t.Errorf("%s %s has no stage", ev.Method, ev.Path)
				}
				if (ev.Stage == StageLogin) != (ev.Path == "/goform/login" || ev.Path == RESTLoginPath) {
					t.Errorf("%s %s in stage %s", ev.Method, ev.Path, ev.Stage)
				}
			}
		})
	}
}

// TestCODAUserIDRefusals: a wrong password, or the wrong password field,
// is a refusal (no userid cookie), never a session.
func TestCODAUserIDRefusals(t *testing.T) {
	tests := []struct {
		name     string
		simField string
		field    string
		password string
	}{
		{"wrong password", "pws", "pws", "not-it"},
		{"Shaw field sent to a Rogers modem", "pws", "pwd", simPassword},
		{"Rogers field sent to a Shaw modem", "pwd", "pws", simPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var events []TraceEvent
			sim, c := simClient(t, modemsim.Config{Dialect: modemsim.DialectCODAUserID, PasswordField: tt.simField}, &events)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := c.Login(ctx, CODAUserID{PasswordField: tt.field}, Credentials{Username: "admin", Password: tt.password})
			if !errors.Is(err, ErrBadCredentials) || s != nil {
				t.Fatalf("login = %v, %v; want ErrBadCredentials", s, err)
			}
			if strings.Contains(err.Error(), tt.password) {
				t.Fatal("the error quotes the password")
			}
			if st := sim.Stats(); st.Logins != 0 || st.SessionActive {
				t.Fatalf("a session was opened: %+v", st)
			}
		})
	}
}

// TestOpenNeverSendsCredentials: credentials handed to the open dialect
// are dropped before any request.
func TestOpenNeverSendsCredentials(t *testing.T) {
	var events []TraceEvent
	sim, c := simClient(t, modemsim.Config{Dialect: modemsim.DialectOpen, DataSet: "CODA-56"}, &events)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := c.Login(ctx, Open{}, Credentials{Username: "admin", Password: simPassword})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Fetch(ctx, SysInfo); err != nil {
		t.Fatal(err)
	}
	if err := s.Logout(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	if st := sim.Stats(); st.LoginRequests != 0 || st.Requests != 1 {
		t.Fatalf("open sent %d login requests, %d requests (want 0, 1)", st.LoginRequests, st.Requests)
	}
}

// TestDialectByName covers the configuration names.
func TestDialectByName(t *testing.T) {
	tests := []struct {
		name, field, want string
		wantErr           bool
	}{
		{"cgn", "", "cgn", false},
		{"open", "", "open", false},
		{"coda-userid", "", "coda-userid", false},
		{"coda-userid", "pwd", "coda-userid", false},
		{"coda-userid", "password", "", true},
		{"auto", "", "", true},
		{"rest", "", "rest", false},
		{"rest-api", "", "", true},
	}
	for _, tt := range tests {
		d, err := DialectByName(tt.name, tt.field)
		if (err != nil) != tt.wantErr || err == nil && d.Name() != tt.want {
			t.Errorf("DialectByName(%q, %q) = %v, %v", tt.name, tt.field, d, err)
		}
	}
}

// TestCODAUserIDLogout: the unverified logout reports a firmware without
// one (404, 405) as ErrNoLogout, not as a logout, and fails on anything
// else but 200 and 302.
func TestCODAUserIDLogout(t *testing.T) {
	answer := func(code int) string {
		return fmt.Sprintf("HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n", code)
	}
	tests := []struct {
		code     int
		wantErr  bool
		noLogout bool
	}{{200, false, false}, {302, false, false}, {404, true, true}, {405, true, true}, {500, true, false}, {403, true, false}}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			srv := startScripted(t, step{answer: answer(tt.code)})
			c, err := New(Options{BaseURL: &url.URL{Scheme: "http", Host: srv.ln.Addr().String()}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			s := &Session{c: c, dialect: CODAUserID{}}
			err = s.Logout(context.Background(), 2*time.Second) // bounded by its timeout
			if (err != nil) != tt.wantErr || errors.Is(err, ErrNoLogout) != tt.noLogout {
				t.Fatalf("logout after %d: %v", tt.code, err)
			}
			if _, reqs := srv.counts(); len(reqs) != 1 || reqs[0] != "POST /goform/logout" {
				t.Fatalf("requests %v", reqs)
			}
		})
	}
}

// TestDetectRefusesToGuess: a modem with neither a preSession cookie nor a
// page readable without a session is not given a dialect.
func TestDetectRefusesToGuess(t *testing.T) {
	tests := []struct {
		name string
		page string
	}{
		{"redirect to the login page", "HTTP/1.1 302 Found\r\nLocation: /login.html\r\nContent-Length: 0\r\n\r\n"},
		{"HTML", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n<html></html>"},
		{"truncated JSON", "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n[{\"a\":1"},
		{"unauthorised", "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := step{answer: "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nhi"}
			srv := startScripted(t, root, step{answer: tt.page})
			c, err := New(Options{BaseURL: &url.URL{Scheme: "http", Host: srv.ln.Addr().String()}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			d, s, err := c.Detect(ctx)
			if !errors.Is(err, ErrUnknownDialect) || !errors.Is(err, ErrBadResponse) || d != nil || s != nil {
				t.Fatalf("Detect = %v, %v, %v", d, s, err)
			}
		})
	}
}

// TestLoginNotSent: a login whose connection failed before anything was
// written (refused, pin mismatch) reports no session to log out, in each
// dialect; one whose answer was lost after it was written does.
func TestLoginNotSent(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	_ = closed.Close()
	for _, d := range []Dialect{CGN{}, CODAUserID{}} {
		t.Run(d.Name()+" refused", func(t *testing.T) {
			c, err := New(Options{BaseURL: &url.URL{Scheme: "http", Host: closedAddr}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			s, err := c.Login(context.Background(), d, Credentials{Username: "admin", Password: "x"})
			if err == nil || s != nil {
				t.Fatalf("login = %v, %v; want an error and no session", s, err)
			}
		})
	}
	t.Run("coda-userid answer lost", func(t *testing.T) {
		srv := startScripted(t, step{stall: true})
		c, err := New(Options{BaseURL: &url.URL{Scheme: "http", Host: srv.ln.Addr().String()}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		s, err := c.Login(ctx, CODAUserID{}, Credentials{Username: "admin", Password: "x"})
		if err == nil || s == nil {
			t.Fatalf("login = %v, %v; want an error and the session to log out", s, err)
		}
	})
}
