package hitron

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// REST is the dialect of the CODA REST family (CODA-4680, CODA-5610Q): JSON
// under /1/Device/ instead of the /data/*.asp pages. POST
// /1/Device/Users/Login with one form field, model =
// {"username":…,"password":…}, answers an envelope (errCode "000" and
// result "success") and sets the PHPSESSID cookie the pages then need;
// POST /1/Device/Users/Logout ends the session. Every answer is an
// envelope whose errCode says whether the request succeeded: a failure
// code is a *RESTError with a precise reason (wrong password, session
// busy, not logged in, or ErrRESTFailure), never a parse error of the
// payload. The page readers are in rest_pages.go; the facts' sources are
// in internal/modemsim/fixtures/README.md.
type REST struct{}

// Name implements Dialect.
func (REST) Name() string { return DialectREST }

// NeedsCredentials implements Dialect.
func (REST) NeedsCredentials() bool { return true }

// Login implements Dialect. The password is only ever written into the
// login request's body, inside JSON that is marshalled, never pasted.
func (REST) Login(ctx context.Context, s *Session, cr Credentials) (bool, error) {
	body, code, err := s.do(ctx, StageLogin, http.MethodPost, RESTLoginPath, RESTLoginForm(cr.Username, cr.Password), 200)
	if err != nil {
		if code != 0 {
			var envErr *RESTError
			if errors.As(readEnvelope(body, restLogin), &envErr) {
				return false, fmt.Errorf("login: HTTP %d: %w", code, envErr)
			}
			if code == http.StatusUnauthorized || code == http.StatusForbidden {
				return false, fmt.Errorf("login: %w: %w", err, ErrLoginUnclear)
			}
		}
		return sentNoAnswer(code, err), fmt.Errorf("login: %w", err)
	}
	return false, ParseRESTLogin(body)
}

// restPages maps the datasets onto the REST pages that carry the same
// facts. Router/SysInfo stands in for getSysInfo: it is the only page with
// the uptimes, the clock and the byte counters the CM pages lack.
var restPages = map[Dataset]RESTPage{
	SystemModel: RESTVersion,
	SysInfo:     RESTRouterSysInfo,
	DocsisWan:   RESTSysInfo,
	CMInit:      RESTProvision,
	Downstream:  RESTDownstream,
	Upstream:    RESTUpstream,
	OFDM:        RESTOFDM,
	OFDMA:       RESTOFDMA,
	EventLog:    RESTLog,
}

// RESTPageOf returns the REST page that carries dataset ds, and false for
// a dataset the family has no page for (getLinkStatus, getConnectInfo).
func RESTPageOf(ds Dataset) (RESTPage, bool) {
	p, ok := restPages[ds]
	return p, ok
}

// Fetch implements Dialect. A dataset without a REST page is ErrNotFound
// with no request sent. The envelope is read here, so that a failure code
// (a lost session included) is the probe's failure reason and not a parse
// error of the page.
func (REST) Fetch(ctx context.Context, s *Session, ds Dataset) ([]byte, error) {
	page, ok := RESTPageOf(ds)
	if !ok {
		return nil, fmt.Errorf("%s: %w (the REST family has no such page)", ds, ErrNotFound)
	}
	body, code, err := s.do(ctx, StageFetch, http.MethodGet, page.Path(), nil, 200)
	if err != nil {
		if code == http.StatusNotFound {
			return nil, fmt.Errorf("%s: %w", page, ErrNotFound)
		}
		if code != 0 && !errors.Is(err, ErrTooLarge) {
			return nil, fmt.Errorf("%s: %w", page, RESTStatusError(http.MethodGet, page.Path(), code))
		}
		return nil, fmt.Errorf("%s: %w", page, err)
	}
	var envErr *RESTError
	if errors.As(CheckREST(body), &envErr) {
		return nil, fmt.Errorf("%s: %w", page, envErr)
	}
	return body, nil
}

// Parse implements Dialect. The event log's times are read as UTC wall
// clocks; the probe places them in the target's zone.
func (REST) Parse(d *Data, ds Dataset, body []byte, maxRows int) error {
	page, ok := RESTPageOf(ds)
	if !ok {
		return fmt.Errorf("%s: %w", ds, ErrNotFound)
	}
	if page == RESTLog {
		log, err := ParseRESTLogLimit(body, time.UTC, maxRows)
		if err != nil {
			return err
		}
		return setEventLog(d, log, maxRows)
	}
	if maxRows <= 0 {
		maxRows = DefaultMaxPageRows
	}
	return d.ParseRESTLimit(page, body, maxRows)
}

// Logout implements Dialect: POST /1/Device/Users/Logout. An answer that
// says the session is already gone is a logout (nothing is held); any
// other failure code, or an HTTP error, is a failed logout.
func (REST) Logout(ctx context.Context, s *Session) error {
	body, _, err := s.do(ctx, StageLogout, http.MethodPost, RESTLogoutPath, url.Values{}, 200)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := CheckREST(body); err != nil && !errors.Is(err, ErrNotLoggedIn) {
		return fmt.Errorf("%s: %w", RESTLogoutPath, err)
	}
	return nil
}

// restDetectPage is the page auto-detection asks the REST API for: every
// answer of the family, with a session or without, is an envelope.
const restDetectPage = RESTVersion

// isRESTEnvelope reports whether body is a REST envelope (a JSON object
// with errCode), whatever code it carries.
func isRESTEnvelope(body []byte) bool {
	err := readEnvelope(body, restData)
	var envErr *RESTError
	return err == nil || errors.As(err, &envErr)
}
