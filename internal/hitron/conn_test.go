package hitron

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// scriptedServer answers each request on a connection with the next step of
// its script, on 127.0.0.1, and counts the connections it accepted.
type scriptedServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns int
	open  []net.Conn // accepted connections, for hangUp
	reqs  []string
	steps []step
	next  int
}

// step is one answer: the raw bytes written, then whether to close the
// connection (without saying so), or to stall until the client goes.
type step struct {
	answer string
	close  bool
	stall  bool
	flood  bool // after answer, send bytes until the client goes
}

const okJSON = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]"

func startScripted(t *testing.T, steps ...step) *scriptedServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scriptedServer{ln: ln, steps: steps}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.open = append(s.open, c)
			s.mu.Unlock()
			go s.serve(c)
		}
	}()
	return s
}

func (s *scriptedServer) serve(c net.Conn) {
	defer func() { _ = c.Close() }()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_ = req.Body.Close()
		s.mu.Lock()
		s.reqs = append(s.reqs, req.Method+" "+req.URL.Path)
		st := step{answer: okJSON}
		if s.next < len(s.steps) {
			st = s.steps[s.next]
		}
		s.next++
		s.mu.Unlock()
		if st.stall {
			_, _ = br.ReadByte() // until the client closes
			return
		}
		if _, err := c.Write([]byte(st.answer)); err != nil || st.close {
			return
		}
		for chunk := bytes.Repeat([]byte("a"), 32<<10); st.flood; {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}
}

// hangUp closes every connection the server accepted, so that a client
// request stuck on a stalled answer ends and a failing test can clean up.
func (s *scriptedServer) hangUp() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.open {
		_ = c.Close()
	}
}

// session returns a Session on a new plain-HTTP client of the server, with
// 64-byte bodies at most; the client is closed when the test ends.
func (s *scriptedServer) session(t *testing.T) *Session {
	t.Helper()
	c, err := New(Options{BaseURL: &url.URL{Scheme: "http", Host: s.ln.Addr().String()}, MaxBodyBytes: 64})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &Session{c: c}
}

func (s *scriptedServer) counts() (conns int, reqs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns, append([]string(nil), s.reqs...)
}

func TestSerialConnection(t *testing.T) {
	type call struct {
		method, path string
		wantErr      error  // errors.Is target; nil means success
		errText      string // a substring of the error
	}
	get := func(p string) call { return call{method: http.MethodGet, path: p} }
	tests := []struct {
		name      string
		steps     []step
		calls     []call
		wantConns int
		wantReqs  int
	}{
		{
			name:  "kept alive: one connection carries every request",
			calls: []call{get("/a"), get("/b"), get("/c")}, wantConns: 1, wantReqs: 3,
		},
		{
			name:  "Connection: close opens a new connection for the next request",
			steps: []step{{answer: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n[]"}},
			calls: []call{get("/a"), get("/b")}, wantConns: 2, wantReqs: 2,
		},
		{
			name:  "HTTP/1.0 without keep-alive is not reused",
			steps: []step{{answer: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n[]"}},
			calls: []call{get("/a"), get("/b")}, wantConns: 2, wantReqs: 2,
		},
		{
			name:  "a GET that finds the kept-alive connection closed is sent again once",
			steps: []step{{answer: okJSON, close: true}},
			calls: []call{get("/a"), get("/b")}, wantConns: 2, wantReqs: 2,
		},
		{
			name:  "a POST that finds it closed is not sent again",
			steps: []step{{answer: okJSON, close: true}},
			calls: []call{get("/a"), {method: http.MethodPost, path: "/goform/login", errText: "goform/login"}}, wantConns: 1, wantReqs: 1,
		},
		{
			name:  "a body over the limit fails and the connection is not reused",
			steps: []step{{answer: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + strings.Repeat("x", 100)}},
			calls: []call{{method: http.MethodGet, path: "/big", wantErr: ErrTooLarge}, get("/b")}, wantConns: 2, wantReqs: 2,
		},
		{
			name:  "an endless body fails at the limit, not at the deadline",
			steps: []step{{answer: "HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n", flood: true}},
			calls: []call{{method: http.MethodGet, path: "/endless", wantErr: ErrTooLarge}, get("/b")}, wantConns: 2, wantReqs: 2,
		},
		{
			name:  "endless headers fail at their limit",
			steps: []step{{answer: "HTTP/1.1 200 OK\r\nX-Junk: ", flood: true}},
			calls: []call{{method: http.MethodGet, path: "/h", wantErr: ErrTooLarge}}, wantConns: 1, wantReqs: 1,
		},
		{
			name:  "a stray CRLF after a body does not become the next answer",
			steps: []step{{answer: okJSON + "\r\n"}},
			calls: []call{get("/a"), get("/b"), get("/c")}, wantConns: 2, wantReqs: 3,
		},
		{
			name:  "interim 1xx answers are skipped",
			steps: []step{{answer: "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n" + okJSON}},
			calls: []call{get("/a"), get("/b")}, wantConns: 1, wantReqs: 2,
		},
		{
			name:  "a truncated body fails",
			steps: []step{{answer: "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n[{\"a\":", close: true}},
			calls: []call{{method: http.MethodGet, path: "/t", errText: "unexpected EOF"}}, wantConns: 1, wantReqs: 1,
		},
		{
			name:  "garbage instead of HTTP fails",
			steps: []step{{answer: "SSH-2.0-OpenSSH\r\n\r\n", close: true}},
			calls: []call{{method: http.MethodGet, path: "/g", wantErr: ErrBadResponse, errText: "malformed HTTP answer"}}, wantConns: 1, wantReqs: 1,
		},
		{
			name:  "a modem that never answers ends with the deadline",
			steps: []step{{stall: true}},
			calls: []call{{method: http.MethodGet, path: "/slow", wantErr: context.DeadlineExceeded}}, wantConns: 1, wantReqs: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startScripted(t, tt.steps...)
			s := srv.session(t)
			c := s.c
			for _, cl := range tt.calls {
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				var form url.Values
				if cl.method == http.MethodPost {
					form = url.Values{"usr": {"admin"}, "pwd": {"s3cret-pw"}}
				}
				start := time.Now()
				_, _, err := s.do(ctx, StageFetch, cl.method, cl.path, form, 200)
				cancel()
				if took := time.Since(start); took > 250*time.Millisecond && !errors.Is(cl.wantErr, context.DeadlineExceeded) {
					t.Errorf("%s %s took %s", cl.method, cl.path, took)
				}
				switch {
				case cl.wantErr == nil && cl.errText == "" && err != nil:
					t.Errorf("%s %s: %v", cl.method, cl.path, err)
				case cl.wantErr != nil && !errors.Is(err, cl.wantErr):
					t.Errorf("%s %s: error %v, want %v", cl.method, cl.path, err, cl.wantErr)
				case cl.errText != "" && (err == nil || !strings.Contains(err.Error(), cl.errText)):
					t.Errorf("%s %s: error %v, want one mentioning %q", cl.method, cl.path, err, cl.errText)
				}
				if err != nil && len(err.Error()) > 300 {
					t.Errorf("an error of %d bytes: the peer's bytes are quoted", len(err.Error()))
				}
				if err != nil && strings.Contains(err.Error(), "s3cret-pw") {
					t.Errorf("error carries the password: %v", err)
				}
			}
			c.Close()
			conns, reqs := srv.counts()
			if conns != tt.wantConns || len(reqs) != tt.wantReqs {
				t.Errorf("server saw %d connections and requests %q; want %d and %d", conns, reqs, tt.wantConns, tt.wantReqs)
			}
		})
	}
}

func TestSerialConnectionTLSToPlainServer(t *testing.T) {
	srv := startScripted(t)
	c, err := New(Options{BaseURL: &url.URL{Scheme: "https", Host: srv.ln.Addr().String()}, TLS: &tls.Config{InsecureSkipVerify: true}}) //nolint:gosec // the test server speaks no TLS at all
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := &Session{c: c}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, _, err := s.do(ctx, StageConnect, http.MethodGet, "/", nil, 200); !errors.Is(err, ErrTLSHandshake) {
		t.Fatalf("error %v, want ErrTLSHandshake", err)
	}
}

// flood returns n cookies named prefix0, prefix1, …
func flood(prefix string, n int) []*http.Cookie {
	out := make([]*http.Cookie, n)
	for i := range out {
		out[i] = &http.Cookie{Name: prefix + strconv.Itoa(i), Value: "1"}
	}
	return out
}

func TestCookies(t *testing.T) {
	now := time.Unix(1e9, 0)
	session := []*http.Cookie{{Name: "preSession", Value: "abc"}, {Name: "sessionindex", Value: "s1"}}
	tests := []struct {
		name    string
		answers [][]*http.Cookie
		header  string
		// tooMany: the last answer is refused with errTooManyCookies.
		tooMany bool
	}{
		{"none", nil, "", false},
		{"set in order", [][]*http.Cookie{{{Name: "preSession", Value: "abc"}}, {{Name: "userid", Value: "42"}}}, "preSession=abc; userid=42", false},
		{"a new value replaces the old", [][]*http.Cookie{{{Name: "userid", Value: "1"}}, {{Name: "userid", Value: "2"}}}, "userid=2", false},
		{"Max-Age<0 deletes", [][]*http.Cookie{{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}}, {{Name: "a", MaxAge: -1}}}, "b=2", false},
		{"an Expires in the past deletes", [][]*http.Cookie{{{Name: "a", Value: "1"}}, {{Name: "a", Value: "x", Expires: now.Add(-time.Hour)}}}, "", false},
		{"an Expires in the future keeps", [][]*http.Cookie{{{Name: "a", Value: "1", Expires: now.Add(time.Hour)}}}, "a=1", false},
		{"values net/http would quote are quoted", [][]*http.Cookie{{{Name: "a", Value: "x y"}}}, `a="x y"`, false},
		{"an answer of thousands of cookies is refused", [][]*http.Cookie{session, flood("f", 2000)}, "preSession=abc; sessionindex=s1", true},
		{"answers that add up past the bound keep the first", [][]*http.Cookie{session, flood("a", 40), flood("b", 40)},
			firstCookies(slices.Concat(session, flood("a", 40), flood("b", 40)), maxCookies), true},
		{"the bound itself is accepted", [][]*http.Cookie{flood("a", maxCookies)}, firstCookies(flood("a", maxCookies), maxCookies), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c cookies
			var err error
			for _, a := range tt.answers {
				err = c.set(a, now)
			}
			if c.header != tt.header {
				t.Errorf("Cookie header %q, want %q", c.header, tt.header)
			}
			if tt.tooMany != errors.Is(err, errTooManyCookies) || tt.tooMany != errors.Is(err, ErrTooLarge) {
				t.Errorf("error %v, want too many cookies: %v", err, tt.tooMany)
			}
		})
	}
}

// firstCookies is the Cookie header of the first n of list.
func firstCookies(list []*http.Cookie, n int) string {
	return strings.Join(cookieStrings(list[:n]), "; ")
}

func cookieStrings(list []*http.Cookie) []string {
	out := make([]string, len(list))
	for i, c := range list {
		out[i] = c.String()
	}
	return out
}

// TestBodyRequestAfterIdleRedials: a login or logout is never sent twice,
// so one that would go on a connection that idled past staleForBody (the
// modem may have closed it, as during a slow credential look-up) goes on a
// new connection instead, and a GET keeps the kept-alive one.
func TestBodyRequestAfterIdleRedials(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		wantConns int
	}{
		{"a POST after the idle limit dials again", http.MethodPost, 2},
		{"a GET after the idle limit is sent again once", http.MethodGet, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The modem closes the connection after its first answer
			// without saying so, as a keep-alive timeout does.
			srv := startScripted(t, step{answer: okJSON, close: true})
			c, err := New(Options{BaseURL: &url.URL{Scheme: "http", Host: srv.ln.Addr().String()}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.conn.staleForBody = 0 // every pause counts as idle
			s := &Session{c: c}
			ctx := context.Background()
			if _, _, err := s.do(ctx, StageConnect, http.MethodGet, "/", nil, 200); err != nil {
				t.Fatal(err)
			}
			var form url.Values
			if tt.method == http.MethodPost {
				form = url.Values{"usr": {"admin"}, "pwd": {"s3cret-pw"}}
			}
			if _, _, err := s.do(ctx, StageLogin, tt.method, "/goform/login", form, 200); err != nil {
				t.Fatalf("%s after the modem closed the idle connection: %v", tt.method, err)
			}
			if conns, reqs := srv.counts(); conns != tt.wantConns || len(reqs) != 2 {
				t.Fatalf("%d connections, requests %q", conns, reqs)
			}
		})
	}
}

func TestCancellationHook(t *testing.T) {
	// Each case makes its requests in order; a request marked cancel is
	// cancelled (not timed out: no deadline is near) while the modem stalls.
	type request struct {
		ctx    int  // which context: requests sharing one share its hook
		cancel bool // cancelled 50 ms after it was sent
		end    bool // its context is cancelled after it answered
	}
	tests := []struct {
		name      string
		steps     []step
		requests  []request
		wantConns int
		wantSent  int // requests the modem saw (0: all)
	}{
		{
			name:      "a cancelled context aborts a stalled request",
			steps:     []step{{stall: true}},
			requests:  []request{{ctx: 0, cancel: true}},
			wantConns: 1,
		},
		{
			name:      "a later request of the same context is aborted too",
			steps:     []step{{answer: okJSON}, {answer: okJSON}, {stall: true}},
			requests:  []request{{ctx: 0}, {ctx: 0}, {ctx: 0, cancel: true}},
			wantConns: 1,
		},
		{
			name:      "a request of another context after a cancelled one is aborted by its own",
			steps:     []step{{stall: true}, {stall: true}},
			requests:  []request{{ctx: 0, cancel: true}, {ctx: 1, cancel: true}},
			wantConns: 2,
		},
		{
			name:      "a request of a context that has ended is not sent",
			requests:  []request{{ctx: 0, end: true}, {ctx: 0}},
			wantConns: 1, wantSent: 1,
		},
		{
			name:      "a context ending between requests leaves the connection to the next",
			requests:  []request{{ctx: 0, end: true}, {ctx: 1}, {ctx: 1, end: true}, {ctx: 2}},
			wantConns: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startScripted(t, tt.steps...)
			s := srv.session(t)
			c := s.c
			ctxs := map[int]context.Context{}
			cancels := map[int]context.CancelFunc{}
			ended := map[int]bool{}
			for i, rq := range tt.requests {
				if ctxs[rq.ctx] == nil {
					ctxs[rq.ctx], cancels[rq.ctx] = context.WithCancel(context.Background())
					defer cancels[rq.ctx]()
				}
				if rq.cancel {
					time.AfterFunc(50*time.Millisecond, cancels[rq.ctx])
				}
				var err error
				done := make(chan error, 1)
				go func() {
					_, _, err := s.do(ctxs[rq.ctx], StageFetch, http.MethodGet, "/p"+strconv.Itoa(i), nil, 200)
					done <- err
				}()
				select {
				case err = <-done:
				case <-time.After(5 * time.Second):
					srv.hangUp() // so that the stuck request ends and Close returns
					t.Fatalf("request %d: not aborted by its context", i)
				}
				switch canceled := rq.cancel || ended[rq.ctx]; {
				case canceled && !errors.Is(err, context.Canceled):
					t.Errorf("request %d: error %v, want context.Canceled", i, err)
				case !canceled && err != nil:
					t.Errorf("request %d: %v", i, err)
				}
				if rq.end {
					ended[rq.ctx] = true
					cancels[rq.ctx]()
					time.Sleep(10 * time.Millisecond) // let its hook run, if it would
				}
			}
			c.Close()
			if c.conn.watched != nil {
				t.Error("Close left a cancellation hook registered")
			}
			wantSent := tt.wantSent
			if wantSent == 0 {
				wantSent = len(tt.requests)
			}
			if conns, reqs := srv.counts(); conns != tt.wantConns || len(reqs) != wantSent {
				t.Errorf("server saw %d connections and requests %q; want %d and %d", conns, reqs, tt.wantConns, wantSent)
			}
		})
	}
}
