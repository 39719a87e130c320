package hitron

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// The password form fields of the CODA-4582U login (Home Assistant's
// hitron_coda integration: Rogers firmware reads pws, Shaw firmware pwd).
const (
	PasswordFieldRogers = "pws"
	PasswordFieldShaw   = "pwd"
)

// CODAUserID is the dialect of the CODA-4582U (Rogers, Shaw): POST
// /goform/login with user and the password in PasswordField, answered with
// HTTP 200 and a userid cookie that the /data/*.asp pages then require. A
// 200 without that cookie is a refused login (the family's only failure
// signal). Newer firmware answers this login with 405 (the REST family):
// an http_status failure, which makes auto-detection look again.
//
// Logout: no public client of this family logs out, so how is unverified.
// This dialect sends the CGN family's POST /goform/logout (data=byebye)
// with the userid cookie, which ends the session where the firmware knows
// it and is harmless where it does not: 200 or 302 is logged out, 404 or
// 405 means the firmware has no logout (the session is left to time out,
// which is not a failure); anything else is a failed logout.
type CODAUserID struct {
	dataPages
	// PasswordField is PasswordFieldRogers ("pws") or PasswordFieldShaw ("pwd").
	PasswordField string
}

// Name implements Dialect.
func (CODAUserID) Name() string { return DialectCODAUserID }

// NeedsCredentials implements Dialect.
func (CODAUserID) NeedsCredentials() bool { return true }

// Login implements Dialect. The password is only ever written into the
// login request's body.
func (d CODAUserID) Login(ctx context.Context, s *Session, cr Credentials) (bool, error) {
	field := d.PasswordField
	if field != PasswordFieldShaw {
		field = PasswordFieldRogers
	}
	form := url.Values{"user": {cr.Username}, field: {cr.Password}}
	body, code, err := s.do(ctx, StageLogin, http.MethodPost, "/goform/login", form, 200)
	if err != nil {
		return sentNoAnswer(code, err), fmt.Errorf("login: %w", err)
	}
	if s.cookies.get("userid") != "" {
		return false, nil
	}
	// No userid: a known CGN-style answer says why, anything else is a
	// refusal (never quoted: it may echo the form).
	if lerr := loginResult(string(body)); lerr != nil && !errors.Is(lerr, ErrBadResponse) {
		return false, lerr
	}
	return false, fmt.Errorf("login: %w: no userid cookie in the answer", ErrBadCredentials)
}

// Logout implements Dialect (see the type's comment for why this request).
func (CODAUserID) Logout(ctx context.Context, s *Session) error {
	_, code, err := s.do(ctx, StageLogout, http.MethodPost, "/goform/logout", url.Values{"data": {"byebye"}}, 302, 200)
	if code == http.StatusNotFound || code == http.StatusMethodNotAllowed {
		return fmt.Errorf("POST /goform/logout answered HTTP %d: %w", code, ErrNoLogout)
	}
	return err
}
