// Package modemsim simulates the web interface of a Hitron cable modem for
// tests, the load harness and the exporter's --demo mode, in each login
// dialect (Config.Dialect). It behaves like the device: HTTPS with a
// self-signed 1024-bit RSA certificate and old TLS cipher suites (or plain
// HTTP, Config.PlainHTTP), one request at a time, and the dialect's
// session rules:
//   - cgn: the preSession/login/logout flow, a single administrator session
//     ("Repeat Login"), 302 to the login page when logged out, lock-out
//     ("LoginProtect") after repeated wrong passwords;
//   - open (CODA-45/56): the data pages answer without any session, there
//     is no login;
//   - coda-userid (CODA-4582U): POST /goform/login with user and pws (or
//     pwd) answered with a userid cookie, 302 without it;
//   - rest (CODA-4680, CODA-5610Q): JSON envelopes under /1/Device/, the
//     model= login, a PHPSESSID session, one session at a time (rest.go).
//
// Faults (slow, garbage, truncated, oversized, HTTP errors, lost sessions,
// and a hostile server's amplified rows, dripped bytes, endless headers and
// cookie floods) can be switched on at run time.
package modemsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/pin"
)

//go:embed fixtures restfixtures
var fixtures embed.FS

// DefaultDataSet is served when Config.DataSet is empty.
const DefaultDataSet = "CGNV4-FX4"

// DataSets lists the embedded data sets: the /data/*.asp ones (fixtures/)
// and the REST ones (restfixtures/, served in the rest dialect).
func DataSets() []string {
	var names []string
	for _, dir := range []string{"fixtures", "restfixtures"} {
		entries, _ := fs.ReadDir(fixtures, dir)
		for _, e := range entries {
			if e.IsDir() {
				names = append(names, e.Name())
			}
		}
	}
	sort.Strings(names)
	return names
}

// dataSetExists reports whether name is an embedded data set.
func dataSetExists(name string) bool {
	_, err := fs.Stat(fixtures, path.Join("fixtures", name))
	return name != "" && err == nil || isRESTDataSet(name)
}

// checkDataSet tells whether the data set can be served in dialect: a REST
// data set only in rest, the others in every other dialect.
func checkDataSet(name, dialect string) error {
	if !dataSetExists(name) {
		return fmt.Errorf("unknown data set %q (have %s)", name, strings.Join(DataSets(), ", "))
	}
	if isRESTDataSet(name) != (dialect == DialectREST) {
		return fmt.Errorf("data set %q cannot be served in dialect %s (REST data sets only in rest, and rest only serves them)", name, dialect)
	}
	return nil
}

// testDataSets are data sets made for tests (odd values, another
// exporter's mock, single-channel extracts), not a model's pages: they are
// no demo choices.
var testDataSets = map[string]bool{"odd-values": true, "yrro-test": true, "CGNV4-FX4-firmware-comments": true}

// ModelDataSets lists the data sets that are one real model's pages, the
// --demo.dataset choices.
func ModelDataSets() []string {
	var names []string
	for _, n := range DataSets() {
		if !testDataSets[n] {
			names = append(names, n)
		}
	}
	return names
}

// Fault selects a misbehaviour of the simulated modem.
type Fault string

// The switchable faults.
const (
	FaultNone        Fault = ""
	FaultSlow        Fault = "slow"          // every data page waits SlowDelay
	FaultGarbage     Fault = "garbage"       // data pages answer HTML junk
	FaultTruncated   Fault = "truncated"     // data pages answer half of their JSON
	FaultOversized   Fault = "oversized"     // data pages stream OversizedBytes of JSON-looking bytes
	FaultHTTP500     Fault = "http500"       // data pages answer 500
	FaultLostSession Fault = "lost-session"  // data pages answer 302, as if the session expired
	FaultLogoutFail  Fault = "logout-fail"   // logout answers 500 and keeps the session
	FaultNoLogout    Fault = "no-logout"     // logout answers 404 (firmware without one) and keeps the session
	FaultLoginPage   Fault = "no-presession" // GET / sets no preSession cookie
)

// The login dialects the simulator speaks (the exporter's dialect names).
const (
	DialectCGN        = "cgn"
	DialectOpen       = "open"
	DialectCODAUserID = "coda-userid"
)

// Dialects lists the dialects, for flags and tests.
var Dialects = []string{DialectCGN, DialectOpen, DialectCODAUserID, DialectREST}

// DefaultDialect is the dialect a data set's firmware speaks: open for the
// CODA-45 and CODA-56 captures, rest for the REST data sets (CODA-4680),
// cgn for the others.
func DefaultDialect(dataSet string) string {
	switch {
	case dataSet == "CODA-45", dataSet == "CODA-56":
		return DialectOpen
	case isRESTDataSet(dataSet):
		return DialectREST
	}
	return DialectCGN
}

// Faults lists every fault, for flags and tests.
var Faults = []Fault{FaultSlow, FaultGarbage, FaultTruncated, FaultOversized, FaultHTTP500, FaultLostSession, FaultLogoutFail, FaultNoLogout, FaultLoginPage,
	FaultAmplify, FaultDripBody, FaultDripHeaders, FaultEndlessHeaders, FaultCookieFlood, FaultRESTError}

// Config configures a simulator.
type Config struct {
	// Username and Password the modem accepts (default admin / password).
	Username, Password string
	// DataSet names an embedded data set (see DataSets); default CGNV4-FX4.
	DataSet string
	// LockAfter wrong passwords in a row lock logins (default 5).
	LockAfter int
	// LockFor is how long a lock-out lasts (default 5 minutes).
	LockFor time.Duration
	// SessionIdle ends a session after this long without requests (default 5 minutes).
	SessionIdle time.Duration
	// Latency is added to every request (the device is slow); default 0.
	Latency time.Duration
	// LatencyTail adds a long-tailed delay drawn per request on top of
	// Latency (see LongTail); zero adds none.
	LatencyTail LongTail
	// SlowDelay is the extra wait of FaultSlow (default 30 s).
	SlowDelay time.Duration
	// OversizedBytes is the body length of FaultOversized (default 100 MB).
	OversizedBytes int64
	// ModernTLS offers Go's default TLS settings instead of the device's
	// TLS 1.2 with RSA key exchange only.
	ModernTLS bool
	// Certificate, when set, is served instead of a generated one.
	Certificate *tls.Certificate
	// AmplifyBytes is the body length of FaultAmplify's row pages
	// (default just under 4 MiB).
	AmplifyBytes int
	// DripDelay is the wait between bytes of FaultDripBody and
	// FaultDripHeaders (default 100 ms).
	DripDelay time.Duration
	// CookieFloodCount is how many cookies FaultCookieFlood sets per
	// answer (default 2000).
	CookieFloodCount int
	// CodewordGrowth, when set, makes the codeword counters move as on a
	// live line: each read of dsinfo or dsofdminfo after the first adds this
	// many corrected codewords and one uncorrectable one to every channel
	// whose counters are plain integers (the demo sets it; tests that
	// compare values with the data set leave it 0).
	CodewordGrowth int64
	// Dialect is the login dialect (see Dialects); default rest for a REST
	// data set, cgn otherwise.
	Dialect string
	// PasswordField is the coda-userid login's password field: "pws"
	// (Rogers, the default) or "pwd" (Shaw).
	PasswordField string
	// PlainHTTP serves HTTP without TLS, as some CODA firmware is reached.
	PlainHTTP bool
}

// LoginAttempt is one POST /goform/login the simulator received.
type LoginAttempt struct {
	Username string
	// Password is kept so tests can prove which secrets reached the modem.
	Password string
	Force    bool
	Result   string
}

// Stats are counters a test can assert on.
type Stats struct {
	Requests     int
	DataRequests int
	Logins       int
	// LoginRequests counts every request to a login path, whatever its
	// dialect or outcome (an open modem must see none).
	LoginRequests int
	// PasswordElsewhere counts requests other than a login whose path,
	// query, headers or body carried the password the modem accepts.
	PasswordElsewhere int
	Logouts           int
	RepeatLogins      int
	MaxInFlight       int
	SessionActive     bool
	ConcurrentSeen    bool
	LoginAttempts     []LoginAttempt
}

// Simulator is a running simulated modem.
type Simulator struct {
	cfg      Config
	cert     tls.Certificate
	fp       pin.Fingerprint
	listener net.Listener
	server   *http.Server

	// latency draws each request's delay.
	latency *latencySource

	// serial makes the device handle one request at a time.
	serial   sync.Mutex
	inFlight atomic.Int32

	mu          sync.Mutex
	fault       Fault
	dataSet     string
	password    string
	session     string
	lastSeen    time.Time
	preSessions map[string]bool
	failures    int
	lockedUntil time.Time
	stats       Stats
	// pageReads counts the reads of each codeword page (CodewordGrowth).
	pageReads map[string]int64
	// eventLog is the CM/Log the rest dialect serves.
	eventLog EventLogState
}

// New builds a simulator; Start serves it.
func New(cfg Config) (*Simulator, error) {
	if cfg.Username == "" {
		cfg.Username = "admin"
	}
	if cfg.Password == "" {
		cfg.Password = "password"
	}
	if cfg.DataSet == "" {
		cfg.DataSet = DefaultDataSet
		if cfg.Dialect == DialectREST {
			cfg.DataSet = DefaultRESTDataSet
		}
	}
	if cfg.Dialect == "" {
		cfg.Dialect = DialectCGN
		if isRESTDataSet(cfg.DataSet) {
			cfg.Dialect = DialectREST
		}
	}
	if !slices.Contains(Dialects, cfg.Dialect) {
		return nil, fmt.Errorf("unknown dialect %q (have %s)", cfg.Dialect, strings.Join(Dialects, ", "))
	}
	if cfg.PasswordField == "" {
		cfg.PasswordField = "pws"
	}
	if cfg.PasswordField != "pws" && cfg.PasswordField != "pwd" {
		return nil, fmt.Errorf("password field %q: must be pws or pwd", cfg.PasswordField)
	}
	if err := checkDataSet(cfg.DataSet, cfg.Dialect); err != nil {
		return nil, err
	}
	if cfg.LockAfter <= 0 {
		cfg.LockAfter = 5
	}
	if cfg.LockFor <= 0 {
		cfg.LockFor = 5 * time.Minute
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 5 * time.Minute
	}
	if cfg.SlowDelay <= 0 {
		cfg.SlowDelay = 30 * time.Second
	}
	if cfg.OversizedBytes <= 0 {
		cfg.OversizedBytes = 100 << 20
	}
	cfg.hostileDefaults()
	s := &Simulator{cfg: cfg, dataSet: cfg.DataSet, password: cfg.Password, preSessions: map[string]bool{}, pageReads: map[string]int64{}, latency: newLatencySource(cfg.Latency, cfg.LatencyTail)}
	if cfg.Certificate != nil {
		s.cert = *cfg.Certificate
	} else {
		cert, err := GenerateCertificate()
		if err != nil {
			return nil, err
		}
		s.cert = cert
	}
	s.fp = pin.Of(s.cert.Certificate[0])
	return s, nil
}

// GenerateCertificate makes a certificate like the device's: self-signed,
// 1024-bit RSA, subject CN = a MAC address, O = Hitron Technologies, no SAN.
func GenerateCertificate() (tls.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate key: %w", err)
	}
	mac := make([]byte, 6)
	if _, err := rand.Read(mac); err != nil {
		return tls.Certificate{}, fmt.Errorf("random: %w", err)
	}
	mac[0] = mac[0]&0xfe | 0x02 // locally administered, unicast
	parts := make([]string, len(mac))
	for i, b := range mac {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("random: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         strings.Join(parts, ":"),
			OrganizationalUnit: []string{"No. 40, Wu-kung 5th Rd., Wu-ku, Taipei Hsien, Taiwan"},
			Organization:       []string{"Hitron Technologies"},
			Country:            []string{"TW"},
		},
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    time.Now().Add(20 * 365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// Start listens on addr (host:port; use 127.0.0.1:0 for a free port) and
// serves until Close.
func (s *Simulator) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	return s.Serve(ln)
}

// Serve serves on an existing listener (wrapped in TLS unless PlainHTTP)
// until Close.
func (s *Simulator) Serve(ln net.Listener) error {
	if s.cfg.PlainHTTP {
		s.listener = ln
		s.server = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = s.server.Serve(s.listener) }()
		return nil
	}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{s.cert}}
	if !s.cfg.ModernTLS {
		// What the device's embedded stack offers: TLS 1.2 at most, RSA key
		// exchange only. Go clients must opt in to these suites.
		tlsCfg.MinVersion = tls.VersionTLS12
		tlsCfg.MaxVersion = tls.VersionTLS12
		tlsCfg.CipherSuites = pin.LegacyRSAKeyExchangeSuites
	}
	s.listener = tls.NewListener(ln, tlsCfg)
	s.server = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          nil,
	}
	go func() { _ = s.server.Serve(s.listener) }()
	return nil
}

// Close stops the simulator.
func (s *Simulator) Close() error {
	if s.server == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.server.Shutdown(ctx); err != nil {
		return s.server.Close()
	}
	return nil
}

// Addr is the host:port the simulator listens on.
func (s *Simulator) Addr() string { return s.listener.Addr().String() }

// URL is the simulator's base URL.
func (s *Simulator) URL() string {
	if s.cfg.PlainHTTP {
		return "http://" + s.Addr()
	}
	return "https://" + s.Addr()
}

// Dialect is the login dialect the simulator speaks.
func (s *Simulator) Dialect() string { return s.cfg.Dialect }

// Fingerprint is the SHA-256 fingerprint of the simulator's certificate.
func (s *Simulator) Fingerprint() pin.Fingerprint { return s.fp }

// Certificate returns the served certificate.
func (s *Simulator) Certificate() tls.Certificate { return s.cert }

// SetFault switches a fault on (FaultNone switches faults off).
func (s *Simulator) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// SetDataSet switches the served data set.
func (s *Simulator) SetDataSet(name string) error {
	if err := checkDataSet(name, s.cfg.Dialect); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dataSet = name
	return nil
}

// SetPassword changes the password the modem accepts (a rotation).
func (s *Simulator) SetPassword(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.password = p
}

// OpenForeignSession simulates a person logged in through a browser: the
// next login without forcelogoff=1 gets "Repeat Login".
func (s *Simulator) OpenForeignSession() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.session = "foreign-" + randomToken()
	s.lastSeen = time.Now()
}

// Unlock clears a lock-out and the failure count.
func (s *Simulator) Unlock() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = 0
	s.lockedUntil = time.Time{}
}

// Stats returns a copy of the counters.
func (s *Simulator) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.LoginAttempts = append([]LoginAttempt(nil), s.stats.LoginAttempts...)
	st.SessionActive = s.sessionActiveLocked()
	return st
}

// ResetStats zeroes the counters.
func (s *Simulator) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{}
}

func (s *Simulator) sessionActiveLocked() bool {
	return s.session != "" && time.Since(s.lastSeen) < s.cfg.SessionIdle
}

// Handler returns the device's HTTP handler (without TLS), serialised like
// the device's single-threaded web server.
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleRoot)
	mux.HandleFunc("GET /login.html", s.handleLoginPage)
	mux.HandleFunc("POST /goform/login", s.handleLogin)
	mux.HandleFunc("POST /goform/logout", s.handleLogout)
	mux.HandleFunc("GET /data/{page}", s.handleData)
	mux.HandleFunc("POST "+restLoginPath, s.handleRESTLogin)
	mux.HandleFunc("POST "+restLogoutPath, s.handleRESTLogout)
	mux.HandleFunc("GET /1/Device/{group}/{page}", s.handleRESTPage)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(s.inFlight.Add(1))
		defer s.inFlight.Add(-1)
		s.mu.Lock()
		s.stats.Requests++
		if n > s.stats.MaxInFlight {
			s.stats.MaxInFlight = n
		}
		s.mu.Unlock()
		// One request at a time, like the device; a client that gives up
		// while queued is dropped.
		if !s.lockSerial(r.Context()) {
			return
		}
		defer s.serial.Unlock()
		if d := s.latency.next(); d > 0 && !sleep(r.Context(), d) {
			return
		}
		w.Header().Set("Server", "GoAhead-Webs")
		s.mu.Lock()
		flood := s.fault == FaultCookieFlood
		s.mu.Unlock()
		if flood {
			s.floodCookies(w)
		}
		if !(r.Method == http.MethodPost && (r.URL.Path == "/goform/login" || r.URL.Path == restLoginPath)) && s.carriesPassword(r) {
			s.mu.Lock()
			s.stats.PasswordElsewhere++
			s.mu.Unlock()
		}
		mux.ServeHTTP(w, r)
	})
}

// carriesPassword reports whether r's path, query, headers or body (which
// it puts back) contain the password the modem accepts, plain or
// URL-encoded.
func (s *Simulator) carriesPassword(r *http.Request) bool {
	s.mu.Lock()
	pw := s.password
	s.mu.Unlock()
	forms := []string{pw, url.QueryEscape(pw), url.PathEscape(pw)}
	has := func(text string) bool {
		for _, f := range forms {
			if strings.Contains(text, f) {
				return true
			}
		}
		return false
	}
	found := has(r.URL.Path) || has(r.URL.RawPath) || has(r.URL.RawQuery)
	for _, vs := range r.Header {
		for _, v := range vs {
			found = found || has(v)
		}
	}
	if r.Body != nil {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		r.Body = io.NopCloser(bytes.NewReader(body))
		found = found || has(string(body))
	}
	return found
}

func (s *Simulator) lockSerial(ctx context.Context) bool {
	for {
		if s.serial.TryLock() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Millisecond):
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func randomToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Simulator) newPreSession(w http.ResponseWriter) {
	tok := randomToken()
	s.mu.Lock()
	if len(s.preSessions) > 1000 {
		s.preSessions = map[string]bool{}
	}
	s.preSessions[tok] = true
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "preSession", Value: tok, Path: "/"})
}

func (s *Simulator) handleRoot(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	fault := s.fault
	s.mu.Unlock()
	if s.cfg.Dialect != DialectCGN {
		// The CODA status page or login form: no preSession cookie.
		s.handleLoginPage(w, r)
		return
	}
	if fault != FaultLoginPage {
		s.newPreSession(w)
	}
	w.Header().Set("Location", "/login.html")
	w.WriteHeader(http.StatusFound)
}

func (s *Simulator) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html")
	_, _ = w.Write([]byte("<html><head><title>Hitron</title></head><body><form action=\"/goform/login\" method=\"post\"></form></body></html>"))
}

func (s *Simulator) handleLogin(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.LoginRequests++
	s.mu.Unlock()
	if s.cfg.Dialect == DialectOpen {
		http.NotFound(w, r)
		return
	}
	if s.cfg.Dialect == DialectREST {
		// The REST firmware has no /goform/ login any more.
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(64 << 10)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if s.cfg.Dialect == DialectCODAUserID {
		s.handleUserIDLogin(w, r)
		return
	}
	usr, pwd := r.PostFormValue("usr"), r.PostFormValue("pwd")
	force := r.PostFormValue("forcelogoff") == "1"
	pre := r.PostFormValue("preSession")
	cookie, _ := r.Cookie("preSession")

	s.mu.Lock()
	defer s.mu.Unlock()
	result := s.loginLocked(usr, pwd, force, pre, cookie)
	s.stats.LoginAttempts = append(s.stats.LoginAttempts, LoginAttempt{Username: usr, Password: pwd, Force: force, Result: result})
	if result == "success" {
		s.stats.Logins++
		http.SetCookie(w, &http.Cookie{Name: "sessionindex", Value: s.session, Path: "/", HttpOnly: true})
	}
	if result == "Repeat Login" {
		s.stats.RepeatLogins++
	}
	w.Header().Set("Content-Type", "text/html")
	_, _ = w.Write([]byte(result))
}

// handleUserIDLogin is the CODA-4582U login: user and the password field,
// answered 200 either way, with a userid cookie only on success. No public
// capture shows a lock-out or a session limit on this family, so a login
// simply replaces the session.
func (s *Simulator) handleUserIDLogin(w http.ResponseWriter, r *http.Request) {
	usr, pwd := r.PostFormValue("user"), r.PostFormValue(s.cfg.PasswordField)
	s.mu.Lock()
	defer s.mu.Unlock()
	result := "success"
	if usr != s.cfg.Username || pwd != s.password {
		result = "refused"
	} else {
		s.session = randomToken()
		s.lastSeen = time.Now()
		s.stats.Logins++
		http.SetCookie(w, &http.Cookie{Name: "userid", Value: s.session, Path: "/"})
	}
	s.stats.LoginAttempts = append(s.stats.LoginAttempts, LoginAttempt{Username: usr, Password: pwd, Result: result})
	w.Header().Set("Content-Type", "text/html")
	_, _ = w.Write([]byte("<html><body><script>location.href='/index.html'</script></body></html>"))
}

// sessionCookie is the name of the dialect's session cookie ("" for open).
func (s *Simulator) sessionCookie() string {
	switch s.cfg.Dialect {
	case DialectCODAUserID:
		return "userid"
	case DialectREST:
		return restSessionCookie
	case DialectOpen:
		return ""
	}
	return "sessionindex"
}

// loginLocked decides a login attempt; s.mu is held.
func (s *Simulator) loginLocked(usr, pwd string, force bool, pre string, cookie *http.Cookie) string {
	now := time.Now()
	if now.Before(s.lockedUntil) {
		left := s.lockedUntil.Sub(now)
		return fmt.Sprintf("LoginProtect=%d|%d|%d", s.failures, int(left/time.Minute), int(left%time.Minute/time.Second))
	}
	if pre == "" || cookie == nil || cookie.Value != pre || !s.preSessions[pre] {
		return "Session timeout expired."
	}
	delete(s.preSessions, pre)
	if usr != s.cfg.Username || pwd != s.password {
		s.failures++
		if s.failures >= s.cfg.LockAfter {
			s.lockedUntil = now.Add(s.cfg.LockFor)
			return fmt.Sprintf("LoginProtect=%d|%d|%d", s.failures, int(s.cfg.LockFor/time.Minute), int(s.cfg.LockFor%time.Minute/time.Second))
		}
		return "Wrong Credentials."
	}
	if s.sessionActiveLocked() && !force {
		return "Repeat Login"
	}
	s.failures = 0
	s.session = randomToken()
	s.lastSeen = now
	return "success"
}

func (s *Simulator) handleLogout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	_ = r.ParseForm()
	if s.cfg.Dialect == DialectOpen || s.cfg.Dialect == DialectREST {
		http.NotFound(w, r)
		return
	}
	ck, _ := r.Cookie(s.sessionCookie())
	s.mu.Lock()
	if s.fault == FaultLogoutFail {
		s.mu.Unlock()
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if s.fault == FaultNoLogout {
		s.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	if ck != nil && ck.Value == s.session && s.session != "" {
		s.session = ""
		s.stats.Logouts++
	}
	s.mu.Unlock()
	if s.cfg.Dialect == DialectCGN {
		s.newPreSession(w)
	}
	w.Header().Set("Location", "/login.html")
	w.WriteHeader(http.StatusFound)
}

// fixtureOf is the hostile faults' view of a fixture file: its bytes, and
// whether the data set has it.
func fixtureOf(file string) func() ([]byte, bool) {
	return func() ([]byte, bool) {
		b, err := fixtures.ReadFile(file)
		return b, err == nil
	}
}

// readFixture reads a page's fixture file for an answer: 404 when the data
// set lacks the page (as firmware without it answers), 500 on any other
// failure; ok is false once it has answered.
func readFixture(w http.ResponseWriter, r *http.Request, file string) ([]byte, bool) {
	body, err := fixtures.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		http.NotFound(w, r)
		return nil, false
	} else if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return nil, false
	}
	return body, true
}

func (s *Simulator) handleData(w http.ResponseWriter, r *http.Request) {
	page := r.PathValue("page")
	if s.cfg.Dialect == DialectREST {
		http.NotFound(w, r) // the REST firmware has no /data/ pages
		return
	}
	ck, _ := r.Cookie(s.sessionCookie())
	s.mu.Lock()
	s.stats.DataRequests++
	loggedIn := s.cfg.Dialect == DialectOpen || ck != nil && ck.Value == s.session && s.sessionActiveLocked()
	if loggedIn {
		s.lastSeen = time.Now()
	}
	fault, dataSet := s.fault, s.dataSet
	s.mu.Unlock()
	if !loggedIn || fault == FaultLostSession {
		w.Header().Set("Location", "/login.html")
		w.WriteHeader(http.StatusFound)
		return
	}
	name := strings.TrimSuffix(page, ".asp")
	if name == page || strings.ContainsAny(name, "/\\.") {
		http.NotFound(w, r)
		return
	}
	file := path.Join("fixtures", dataSet, name+".json")
	if s.serveHostile(w, r, fault, name, fixtureOf(file)) {
		return
	}
	body, ok := readFixture(w, r, file)
	if !ok {
		return
	}
	if s.serveFault(w, r, fault, &body) {
		return
	}
	if s.cfg.CodewordGrowth > 0 && codewordPages[name] {
		s.mu.Lock()
		reads := s.pageReads[name]
		s.pageReads[name]++
		s.mu.Unlock()
		body = growCodewords(body, reads, s.cfg.CodewordGrowth)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// serveFault applies a data-page fault: it reports whether it answered
// the request itself, and may shorten *body (FaultTruncated).
func (s *Simulator) serveFault(w http.ResponseWriter, r *http.Request, fault Fault, body *[]byte) bool {
	switch fault {
	case FaultSlow:
		if !sleep(r.Context(), s.cfg.SlowDelay) {
			return true
		}
	case FaultGarbage:
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>Unknown error.</body></html>"))
		return true
	case FaultTruncated:
		*body = (*body)[:len(*body)/2]
	case FaultHTTP500:
		http.Error(w, "internal error", http.StatusInternalServerError)
		return true
	case FaultOversized:
		s.writeOversized(w, r)
		return true
	}
	return false
}

// writeOversized streams cfg.OversizedBytes of a JSON array that never ends,
// stopping early when the client goes away.
func (s *Simulator) writeOversized(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	chunk := []byte(strings.Repeat(`{"portId":"1","snr":"40.000"},`, 1024))
	_, _ = w.Write([]byte("["))
	for sent := int64(0); sent < s.cfg.OversizedBytes; sent += int64(len(chunk)) {
		if r.Context().Err() != nil {
			return
		}
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}
