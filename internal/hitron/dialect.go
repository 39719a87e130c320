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
// codauserid.go (CODA-4582U: user + pws|pwd, userid cookie).
//
// The CODA REST family (CODA-4680, CODA-5610Q) fits as one more file, a
// sketch of which follows, on the page readers of rest_pages.go. Login
// posts RESTLoginForm (one field, model={"username":…,"password":…}) to
// /1/Device/Users/Login in StageLogin, keeps the cookie it is given and
// reads the answer with ParseRESTLogin (errCode "000" ok, others
// ErrBadCredentials, ErrSessionBusy or ErrBadResponse); NeedsCredentials is
// true. Fetch maps each Dataset to its RESTPage (SystemModel → CM/Version,
// SysInfo → Router/SysInfo, DocsisWan → CM/SysInfo, CMInit →
// CM/DocsisProvision, Downstream → CM/DsInfo, Upstream → CM/UsInfo, OFDM →
// CM/DsOfdm, OFDMA → CM/UsOfdm), answers ErrNotFound for datasets without
// one (LinkStatus, ConnectInfo), maps HTTP errors with RESTStatusError, and
// Parse is Data.ParseRESTLimit. Logout posts /1/Device/Users/Logout and reads it
// with CheckREST. Auto-detection can learn it in Detect from a
// /1/Device/ answer that is a REST envelope. Nothing outside the dialect's
// file, the simulator and the docs changes.
type Dialect interface {
	// Name is the dialect's configuration value: "cgn", "open", "coda-userid".
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
)

// DialectNames are the values targets.<t>.dialect accepts.
var DialectNames = []string{DialectAuto, DialectCGN, DialectOpen, DialectCODAUserID}

// DialectByName returns the dialect called name; passwordField is the
// coda-userid password form field ("pws" or "pwd"; "" means pws). "auto" is
// not a dialect: the caller detects one (Client.Detect).
func DialectByName(name, passwordField string) (Dialect, error) {
	switch name {
	case DialectCGN:
		return CGN{}, nil
	case DialectOpen:
		return Open{}, nil
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

// ErrUnknownDialect: auto-detection found neither a preSession cookie nor a
// data page that answers without a session.
var ErrUnknownDialect = fmt.Errorf("%w: cannot tell the login dialect (no preSession cookie on GET /, and the data pages need a session); "+
	"set the target's dialect (coda-userid for a CODA-4582U)", ErrBadResponse)

// detectPage is the data page auto-detection reads without a session:
// every family serves it (CODA-45 lacks system_model).
const detectPage = SysInfo

// Detect tells the dialect from what the modem answers, sending no
// credentials: a preSession cookie on GET / means cgn; otherwise, a JSON
// answer to a data page read without any session means open. The session
// it returns keeps what was learnt (the preSession cookie, the page read)
// for LoginIn. A modem that answers neither way gives ErrUnknownDialect.
func (c *Client) Detect(ctx context.Context) (Dialect, *Session, error) {
	s := &Session{c: c}
	if _, code, err := s.do(ctx, StageConnect, http.MethodGet, "/", nil, 200, 302); err != nil && (code == 0 || errors.Is(err, ErrTooLarge)) {
		return nil, nil, fmt.Errorf("fetch login page: %w", err)
	}
	if s.cookies.get("preSession") != "" {
		return CGN{}, s, nil
	}
	body, code, err := s.do(ctx, StageDetect, http.MethodGet, detectPage.Path(), nil, 200)
	if err != nil && (code == 0 || errors.Is(err, ErrTooLarge)) {
		return nil, nil, fmt.Errorf("%s: %w", detectPage, err)
	}
	if err == nil && looksJSON(body) {
		s.ahead = map[Dataset][]byte{detectPage: body}
		return Open{}, s, nil
	}
	return nil, nil, ErrUnknownDialect
}

// looksJSON reports whether body is a JSON array or object.
func looksJSON(body []byte) bool {
	b := bytes.TrimSpace(body)
	return len(b) > 0 && (b[0] == '[' || b[0] == '{') && json.Valid(b)
}

// fetchDataPage reads /data/<name>.asp, as the families that share those
// pages serve them: 200 with the JSON, a redirect when the session is
// gone, 404 when the firmware lacks the page.
func fetchDataPage(ctx context.Context, s *Session, ds Dataset) ([]byte, error) {
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
