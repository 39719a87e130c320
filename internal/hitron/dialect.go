package hitron

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Dialect is how one Hitron firmware family is logged in to, read and
// logged out of: the requests that start a session, the form fields and
// cookies they carry, how the login answer reads, how the session ends,
// where each data page lives and how its answers read. Every request a
// dialect sends names its probe stage (StageConnect …), so the probe's
// traces and stage timings come from here, not from URL paths.
//
// One file per dialect: cgn.go (CGNV4, CGN3, CGNM, CVE: preSession, usr/pwd,
// sessionindex), open.go (CODA-45, CODA-56: no session at all),
// codauserid.go (CODA-4582U: user + pws|pwd, userid cookie), rest.go (the
// CODA REST family, CODA-4680 and CODA-5610Q: JSON under /1/Device/, the
// model={"username","password"} login, PHPSESSID, errCode envelopes).
type Dialect interface {
	// Name is the dialect's configuration value: "cgn", "open", "coda-userid", "rest".
	Name() string
	// NeedsCredentials reports whether Login sends a username and password.
	// When false, the caller must not look credentials up at all.
	NeedsCredentials() bool
	// Login starts a session in s. sent reports whether a request that
	// carried credentials went out (its answer may have been lost, and the
	// modem may hold a session the caller should log out).
	Login(ctx context.Context, s *Session, cr Credentials) (sent bool, err error)
	// Fetch reads one data page: ErrNotLoggedIn when the session is gone,
	// ErrNotFound when the firmware lacks the page.
	Fetch(ctx context.Context, s *Session, ds Dataset) ([]byte, error)
	// Parse decodes a page Fetch returned into d, at most maxRows rows of
	// it (0: DefaultMaxPageRows); a page over the bound is ErrTooManyRows.
	Parse(d *Data, ds Dataset, body []byte, maxRows int) error
	// Logout ends the session; ctx bounds it.
	Logout(ctx context.Context, s *Session) error
}

// Credentials are what a dialect's login sends. Dialects that need none
// are given the zero value.
type Credentials struct {
	Username, Password string
	// Force takes over another administrator's session where the dialect
	// can (CGN's forcelogoff=1).
	Force bool
}

// The probe stages an exchange with the modem belongs to.
const (
	StageConnect = "connect" // the first request: GET / (and the TLS handshake)
	StageDetect  = "detect"  // auto-detection reading a data page without a session
	StageLogin   = "login"   // the request carrying the credentials
	StageFetch   = "fetch"   // data pages
	StageLogout  = "logout"  // ending the session
)

// Stages lists the stages in the order a probe passes them.
var Stages = []string{StageConnect, StageDetect, StageLogin, StageFetch, StageLogout}

// Dialect names, as the configuration spells them.
const (
	DialectAuto       = "auto"
	DialectCGN        = "cgn"
	DialectOpen       = "open"
	DialectCODAUserID = "coda-userid"
	DialectREST       = "rest"
)

// DialectNames are the values targets.<t>.dialect accepts.
var DialectNames = []string{DialectAuto, DialectCGN, DialectOpen, DialectCODAUserID, DialectREST}

// DialectByName returns the dialect called name; passwordField is the
// coda-userid password form field ("pws" or "pwd"; "" means pws). "auto" is
// not a dialect: the caller detects one (Client.Detect).
func DialectByName(name, passwordField string) (Dialect, error) {
	switch name {
	case DialectCGN:
		return CGN{}, nil
	case DialectOpen:
		return Open{}, nil
	case DialectREST:
		return REST{}, nil
	case DialectCODAUserID:
		if passwordField == "" {
			passwordField = PasswordFieldRogers
		}
		if passwordField != PasswordFieldRogers && passwordField != PasswordFieldShaw {
			return nil, fmt.Errorf("password field %q: must be %q or %q", passwordField, PasswordFieldRogers, PasswordFieldShaw)
		}
		return CODAUserID{PasswordField: passwordField}, nil
	}
	return nil, fmt.Errorf("unknown dialect %q (known: %s)", name, strings.Join(DialectNames, ", "))
}

// NeedsCredentials reports whether a target configured with the dialect
// name may need credentials: false only for a dialect known to need none
// (auto may turn out to need them).
func NeedsCredentials(name string) bool {
	d, err := DialectByName(name, "")
	return err != nil || d.NeedsCredentials()
}

// ErrUnknownDialect: auto-detection found neither a preSession cookie, nor
// a data page that answers without a session, nor a REST envelope.
var ErrUnknownDialect = fmt.Errorf("%w: cannot tell the login dialect (no preSession cookie on GET /, the data pages need a session, "+
	"and /1/Device/ is no REST API); set the target's dialect (coda-userid for a CODA-4582U)", ErrBadResponse)

// detectPage is the data page auto-detection reads without a session:
// every family serves it (CODA-45 lacks system_model).
const detectPage = SysInfo

// Detect tells the dialect from what the modem answers, sending no
// credentials: a preSession cookie on GET / means cgn; otherwise, a JSON
// answer to a data page read without any session means open; otherwise, a
// REST envelope (a JSON object with errCode, whatever the code or the HTTP
// status) from /1/Device/CM/Version means rest. The session it returns
// keeps what was learnt (the preSession cookie, the page read) for
// LoginIn. A modem that answers none of these ways gives
// ErrUnknownDialect.
func (c *Client) Detect(ctx context.Context) (Dialect, *Session, error) {
	s := &Session{c: c}
	if _, code, err := s.do(ctx, StageConnect, http.MethodGet, "/", nil, 200, 302); detectionStops(code, err) {
		return nil, nil, fmt.Errorf("fetch login page: %w", err)
	}
	if s.cookies.get("preSession") != "" {
		return CGN{}, s, nil
	}
	body, code, err := s.do(ctx, StageDetect, http.MethodGet, detectPage.Path(), nil, 200)
	if detectionStops(code, err) {
		return nil, nil, fmt.Errorf("%s: %w", detectPage, err)
	}
	if err == nil && looksJSON(body) {
		s.ahead = map[Dataset][]byte{detectPage: body}
		return Open{}, s, nil
	}
	body, code, err = s.do(ctx, StageDetect, http.MethodGet, restDetectPage.Path(), nil, 200)
	if detectionStops(code, err) {
		return nil, nil, fmt.Errorf("%s: %w", restDetectPage, err)
	}
	if isRESTEnvelope(body) {
		if err == nil && CheckREST(body) == nil {
			s.ahead = map[Dataset][]byte{SystemModel: body} // the page answered without a session
		}
		return REST{}, s, nil
	}
	return nil, nil, ErrUnknownDialect
}

// detectionStops reports whether a detection request's failure ends the
// detection: no answer at all, or one past a bound (a cookie flood, an
// oversized page). Any other failed answer (a status, junk) is itself
// evidence, read by the next step.
func detectionStops(code int, err error) bool {
	return err != nil && (code == 0 || errors.Is(err, ErrTooLarge))
}

// looksJSON reports whether body is a JSON array or object.
func looksJSON(body []byte) bool {
	b := bytes.TrimSpace(body)
	return len(b) > 0 && (b[0] == '[' || b[0] == '{') && json.Valid(b)
}

// dataPages is the Fetch and Parse of the families that share the
// /data/*.asp pages (cgn, open, coda-userid): their dialects differ only in
// how a session starts and ends. A page that redirects to a login page is
// ErrNotLoggedIn (for open: the firmware now wants a session, the dialect
// no longer fits).
type dataPages struct{}

// Fetch implements Dialect.
func (dataPages) Fetch(ctx context.Context, s *Session, ds Dataset) ([]byte, error) {
	return fetchDataPage(ctx, s, ds)
}

// Parse implements Dialect.
func (dataPages) Parse(d *Data, ds Dataset, body []byte, maxRows int) error {
	return d.ParseLimit(ds, body, maxRows)
}

// fetchDataPage reads /data/<name>.asp, as the families that share those
// pages serve them: 200 with the JSON, a redirect when the session is
// gone, 404 when the firmware lacks the page. The event log
// (/data/status_log.asp) is not asked for: public clients read it, but no
// captured answer confirms its shape on any /data/ family (see
// docs/event-log.md), so it is ErrNotFound with no request sent.
func fetchDataPage(ctx context.Context, s *Session, ds Dataset) ([]byte, error) {
	if ds == EventLog {
		return nil, fmt.Errorf("%s: %w (not read on the /data/ families until a capture confirms its shape)", ds, ErrNotFound)
	}
	body, code, err := s.do(ctx, StageFetch, http.MethodGet, ds.Path(), nil, 200)
	if err != nil {
		switch code {
		case http.StatusFound, http.StatusSeeOther, http.StatusMovedPermanently, http.StatusTemporaryRedirect,
			http.StatusUnauthorized, http.StatusForbidden:
			return nil, fmt.Errorf("%s: %w", ds, ErrNotLoggedIn)
		case http.StatusNotFound:
			return nil, fmt.Errorf("%s: %w", ds, ErrNotFound)
		}
		return nil, fmt.Errorf("%s: %w", ds, err)
	}
	return body, nil
}

// sentNoAnswer reports whether a request went out but no answer came back
// (a time-out, a reset): the modem may have acted on it. A request that
// failed to connect (TCP or TLS, a pin mismatch included) was not sent.
func sentNoAnswer(code int, err error) bool {
	var ns notSent
	return err != nil && code == 0 && !errors.As(err, &ns)
}
