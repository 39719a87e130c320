// Package hitron is a client for the web interface of Hitron cable modems:
// it opens a session in the firmware family's login dialect (see Dialect)
// over pinned TLS, reads the JSON data pages one at a time, always logs out,
// and parses what it read into plain Go structs. It knows nothing of where
// credentials come from, nor of Prometheus.
package hitron

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// DefaultMaxBodyBytes bounds every response body read from a modem.
const DefaultMaxBodyBytes = 4 << 20

// Errors a login or a data request can end with. Use errors.Is / errors.As.
var (
	// ErrBadCredentials: the modem answered "Wrong Credentials.".
	ErrBadCredentials = errors.New("modem rejected the username or password (Wrong Credentials.)")
	// ErrSessionBusy: another administrator session is open ("Repeat Login",
	// or "Up to the session limit" on CGNM); force=1 takes it over.
	ErrSessionBusy = errors.New("another session is logged in to the modem (Repeat Login); use force=1 to take it over")
	// ErrNotLoggedIn: a data page redirected to the login page, so the
	// session is gone.
	ErrNotLoggedIn = errors.New("modem redirected to the login page: not logged in or session expired")
	// ErrTooLarge: a response body exceeded the size limit.
	ErrTooLarge = errors.New("response body exceeds the size limit")
	// ErrBadResponse: the modem answered something this client cannot read.
	ErrBadResponse = errors.New("unexpected response from modem")
	// ErrNotFound: the firmware has no such data page (HTTP 404).
	ErrNotFound = errors.New("modem has no such page")
	// ErrNoLogout: the firmware answered the logout with 404 or 405, so it
	// has no logout to send; the session ends when the modem times it out
	// or the next login replaces it. Not a failed logout.
	ErrNoLogout = errors.New("modem has no logout")
	// ErrLoginUnclear: the modem turned the login down in words the client
	// cannot read (an unknown failure code, a 401). The credentials may
	// have been wrong: a caller must not send them again soon.
	ErrLoginUnclear = errors.New("modem refused the login without a reason the exporter knows")
	// ErrTLSHandshake: the connection failed during the TLS handshake (the
	// peer closed it, reset it, or does not speak TLS).
	ErrTLSHandshake = errors.New("TLS handshake with the modem failed")
)

// LockedOutError is the modem's "LoginProtect=<failures>|<minutes>|<seconds>"
// answer: too many failed logins, no login is accepted for Wait.
type LockedOutError struct {
	Failures int
	Wait     time.Duration
}

func (e *LockedOutError) Error() string {
	return fmt.Sprintf("modem locked out logins after %d failed attempts (LoginProtect), for %s", e.Failures, e.Wait)
}

// StatusError is an unexpected HTTP status.
type StatusError struct {
	Method, Path string
	Code         int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: unexpected HTTP status %d", e.Method, e.Path, e.Code)
}

// TraceEvent describes one HTTP exchange with the modem, for debug output.
// It never carries request bodies, cookies or credentials.
type TraceEvent struct {
	// Stage is the probe stage the exchange belongs to (StageConnect …),
	// named by the dialect that sent it.
	Stage    string
	Method   string
	Path     string
	Status   int
	Bytes    int
	Duration time.Duration
	Err      error
}

// Options configure a Client.
type Options struct {
	// BaseURL is the modem's scheme, host and port, e.g. https://192.0.2.1:443.
	BaseURL *url.URL
	// TLS is the client TLS configuration (pinning included); required for https.
	TLS *tls.Config
	// DialAddress, when set, is the host:port actually connected to (probe a
	// name, connect to an IP).
	DialAddress string
	// MaxBodyBytes bounds each response body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Trace, when set, is called after every HTTP exchange.
	Trace func(TraceEvent)
}

// Client talks to one modem. Each Login opens a new session with its own
// cookies; one Client, and its one connection, is used for one probe.
type Client struct {
	base    *url.URL
	conn    *serialConn
	maxBody int64
	trace   func(TraceEvent)
}

// New returns a client for the modem at o.BaseURL.
func New(o Options) (*Client, error) {
	if o.BaseURL == nil || o.BaseURL.Host == "" {
		return nil, errors.New("hitron: base URL with a host is required")
	}
	// No TCP keep-alive: a connection lives for one probe, seconds at most,
	// and enabling it costs four system calls per connection.
	dialer := &net.Dialer{Timeout: connectTimeout, KeepAlive: -1}
	addr := o.DialAddress
	if addr == "" {
		addr = hostPort(o.BaseURL)
	}
	conn := &serialConn{
		dial:    func(ctx context.Context) (net.Conn, error) { return dialer.DialContext(ctx, "tcp", addr) },
		timeout: connectTimeout, staleForBody: staleForBody,
	}
	if o.BaseURL.Scheme != "http" {
		conn.tls = o.TLS
		if conn.tls == nil {
			return nil, errors.New("hitron: a TLS configuration is required for https")
		}
	}
	maxBody := o.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = DefaultMaxBodyBytes
	}
	return &Client{base: o.BaseURL, conn: conn, maxBody: maxBody, trace: o.Trace}, nil
}

// connectTimeout bounds the TCP connect and the TLS handshake.
const connectTimeout = 10 * time.Second

// hostPort is u's host and port, the port defaulted from the scheme.
func hostPort(u *url.URL) string {
	if port := u.Port(); port != "" {
		return u.Host
	}
	if u.Scheme == "http" {
		return net.JoinHostPort(u.Hostname(), "80")
	}
	return net.JoinHostPort(u.Hostname(), "443")
}

// Close releases the client's connections.
func (c *Client) Close() { c.conn.close() }

// Session is one probe's conversation with the modem in one dialect: its
// cookies, and pages the dialect read ahead (auto-detection reads one data
// page before it knows the dialect). End it with Logout.
type Session struct {
	c       *Client
	dialect Dialect
	cookies cookies
	// ahead holds data page bodies already read, served once by Fetch.
	ahead map[Dataset][]byte
}

// Dialect is the session's login dialect.
func (s *Session) Dialect() Dialect { return s.dialect }

// Login opens a session in dialect d with the given credentials (ignored,
// and never sent, by a dialect that needs none). When the login request was
// sent but its answer was lost (a timeout, a reset), Login returns the
// session together with the error: the modem may hold a session for it,
// which the caller should try to log out.
func (c *Client) Login(ctx context.Context, d Dialect, cr Credentials) (*Session, error) {
	return c.LoginIn(ctx, &Session{c: c, dialect: d}, d, cr)
}

// LoginIn continues the session s (as Detect left it: its cookies and the
// pages it read) in dialect d, then logs in as Login does.
func (c *Client) LoginIn(ctx context.Context, s *Session, d Dialect, cr Credentials) (*Session, error) {
	if s == nil || s.c != c {
		s = &Session{c: c}
	}
	s.dialect = d
	if !d.NeedsCredentials() {
		cr = Credentials{}
	}
	sent, err := d.Login(ctx, s, cr)
	if err != nil {
		if sent {
			return s, err
		}
		return nil, err
	}
	return s, nil
}

// Fetch reads one data page and returns its body, in the session's
// dialect: a page read ahead is returned without asking the modem again.
func (s *Session) Fetch(ctx context.Context, ds Dataset) ([]byte, error) {
	if body, ok := s.ahead[ds]; ok {
		delete(s.ahead, ds)
		return body, nil
	}
	return s.dialect.Fetch(ctx, s, ds)
}

// Parse decodes a body Fetch returned into d, as the dialect's pages are
// shaped.
func (s *Session) Parse(d *Data, ds Dataset, body []byte, maxRows int) error {
	return s.dialect.Parse(d, ds, body, maxRows)
}

// Logout ends the session as its dialect does. It runs even when ctx is
// already cancelled (the modem has a single session slot, and leaving it
// taken blocks the next probe and any person), bounded by timeout.
func (s *Session) Logout(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	defer s.c.conn.forget(ctx) // before cancel: its hook has nothing to abort
	if err := s.dialect.Logout(ctx, s); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

func (c *Client) url(path string) *url.URL {
	u := *c.base
	u.Path = path
	u.RawQuery = ""
	return &u
}

// do runs one request of the given stage and reads at most maxBody bytes of the answer. It
// returns the status code even when the status is not one of want.
func (s *Session) do(ctx context.Context, stage, method, path string, form url.Values, want ...int) ([]byte, int, error) {
	start := time.Now()
	ev := TraceEvent{Stage: stage, Method: method, Path: path}
	defer func() {
		if s.c.trace != nil {
			ev.Duration = time.Since(start)
			s.c.trace(ev)
		}
	}()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, s.c.url(path).String(), body)
	if err != nil {
		ev.Err = err
		return nil, 0, fmt.Errorf("build request: %w", err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json, text/plain, */*")
	if s.cookies.header != "" {
		req.Header["Cookie"] = []string{s.cookies.header}
	}
	// Redirects are never followed: a 302 is the device's "not logged in".
	res, err := s.c.conn.roundTrip(ctx, req, s.c.maxBody)
	if err != nil {
		ev.Err = fmt.Errorf("%s %s: %w", method, path, err)
		return nil, 0, ev.Err
	}
	if rc := res.resp.Cookies(); len(rc) > 0 {
		if err := s.cookies.set(rc, time.Now()); err != nil {
			ev.Err = fmt.Errorf("%s %s: %w", method, path, err)
			return nil, res.resp.StatusCode, ev.Err
		}
	}
	ev.Status, ev.Bytes = res.resp.StatusCode, len(res.body)
	if res.tooLarge {
		ev.Err = fmt.Errorf("%s %s: %w (%d bytes)", method, path, ErrTooLarge, s.c.maxBody)
		return nil, res.resp.StatusCode, ev.Err
	}
	for _, w := range want {
		if res.resp.StatusCode == w {
			return res.body, res.resp.StatusCode, nil
		}
	}
	ev.Err = &StatusError{Method: method, Path: path, Code: res.resp.StatusCode}
	return res.body, res.resp.StatusCode, ev.Err
}

// cookies is a session's cookie store. The modem is a single host that
// sets its session cookies for "/", so names and values are all a session
// needs: net/http/cookiejar's domain and path matching would buy nothing
// and cost allocations on every request.
type cookies struct {
	list   []*http.Cookie // name and value only, in the order first set
	header string         // the Cookie request header they make
}

// maxCookies bounds a session's cookies (RFC 6265 asks user agents to
// keep at least 50 per domain); a modem sets two or three.
const maxCookies = 50

// errTooManyCookies: the modem set more cookies than maxCookies.
var errTooManyCookies = fmt.Errorf("%w: more than %d cookies", ErrTooLarge, maxCookies)

// set applies the cookies of an answer: a new value replaces the old, and
// a cookie that expires now is deleted. An answer of more than maxCookies
// is errTooManyCookies and changes nothing; one that takes the store past
// maxCookies is errTooManyCookies and only the first maxCookies are kept
// (the session's own, set first, to log it out with).
func (c *cookies) set(received []*http.Cookie, now time.Time) error {
	if len(received) > maxCookies {
		return errTooManyCookies
	}
	for _, ck := range received {
		i := slices.IndexFunc(c.list, func(o *http.Cookie) bool { return o.Name == ck.Name })
		expired := ck.MaxAge < 0 || !ck.Expires.IsZero() && !ck.Expires.After(now)
		switch {
		case expired && i >= 0:
			c.list = slices.Delete(c.list, i, i+1)
		case expired:
		case i >= 0:
			c.list[i] = &http.Cookie{Name: ck.Name, Value: ck.Value}
		default:
			c.list = append(c.list, &http.Cookie{Name: ck.Name, Value: ck.Value})
		}
	}
	var err error
	if len(c.list) > maxCookies {
		c.list, err = c.list[:maxCookies], errTooManyCookies
	}
	parts := make([]string, len(c.list))
	for i, ck := range c.list {
		parts[i] = ck.String() // net/http's quoting and sanitising
	}
	c.header = strings.Join(parts, "; ")
	return err
}

// get returns the value of the cookie name, or "".
func (c *cookies) get(name string) string {
	for _, ck := range c.list {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}
