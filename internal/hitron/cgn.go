package hitron

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// CGN is the dialect of the CGN series (CGNV4, CGNV4-FX4, CGN3, CGNM-2250,
// CVE-30360): GET / sets a preSession cookie; POST /goform/login with usr,
// pwd, forcelogoff and preSession answers "success" (or "Wrong
// Credentials.", "Repeat Login", "LoginProtect=…") and sets sessionindex;
// the /data/*.asp pages redirect to the login page without it; POST
// /goform/logout with data=byebye ends the session with a 302.
type CGN struct{ dataPages }

// Name implements Dialect.
func (CGN) Name() string { return DialectCGN }

// NeedsCredentials implements Dialect.
func (CGN) NeedsCredentials() bool { return true }

// Login implements Dialect. The password is only ever written into the
// login request's body. A preSession cookie Detect already received is
// used instead of asking for another.
func (CGN) Login(ctx context.Context, s *Session, cr Credentials) (bool, error) {
	if s.cookies.get("preSession") == "" {
		if _, _, err := s.do(ctx, StageConnect, http.MethodGet, "/", nil, 200, 302); err != nil {
			return false, fmt.Errorf("fetch login page: %w", err)
		}
	}
	preSession := s.cookies.get("preSession")
	if preSession == "" {
		return false, fmt.Errorf("login page: %w: no preSession cookie", ErrBadResponse)
	}
	forceValue := "0"
	if cr.Force {
		forceValue = "1"
	}
	form := url.Values{"usr": {cr.Username}, "pwd": {cr.Password}, "forcelogoff": {forceValue}, "preSession": {preSession}}
	body, code, err := s.do(ctx, StageLogin, http.MethodPost, "/goform/login", form, 200)
	if err != nil {
		return sentNoAnswer(code, err), fmt.Errorf("login: %w", err)
	}
	return false, loginResult(string(body))
}

// Logout implements Dialect: POST /goform/logout (data=byebye), which the
// device answers with a 302.
func (CGN) Logout(ctx context.Context, s *Session) error {
	_, _, err := s.do(ctx, StageLogout, http.MethodPost, "/goform/logout", url.Values{"data": {"byebye"}}, 302, 200)
	return err
}

// loginResult interprets the body of a CGN login answer.
func loginResult(body string) error {
	b := strings.TrimSpace(body)
	switch {
	case strings.EqualFold(b, "success"):
		return nil
	case strings.HasPrefix(b, "Wrong Credentials"):
		return ErrBadCredentials
	case strings.HasPrefix(b, "Repeat Login"), strings.Contains(b, "Up to the session limit"):
		return ErrSessionBusy
	case strings.HasPrefix(b, "LoginProtect="):
		return parseLoginProtect(strings.TrimPrefix(b, "LoginProtect="))
	}
	// The answer is not quoted: a firmware that echoes the form (in any
	// encoding) would put the password in logs and traces.
	return fmt.Errorf("login: %w: an unrecognised answer of %d bytes", ErrBadResponse, len(b))
}

// maxLockMinutes bounds a LoginProtect wait; longer (or overflowing)
// values fall back to 5 minutes.
const maxLockMinutes = 24 * 60

// parseLoginProtect reads "9|58|21": failures, then minutes and seconds to wait.
func parseLoginProtect(v string) error {
	parts := strings.Split(v, "|")
	e := &LockedOutError{Wait: 5 * time.Minute}
	nums := make([]int, 0, 3)
	for _, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 {
			return e // lock-out is certain, its length is not: assume 5 minutes
		}
		nums = append(nums, n)
	}
	if len(nums) >= 1 {
		e.Failures = nums[0]
	}
	if len(nums) >= 3 && nums[1] <= maxLockMinutes && nums[2] < 3600 {
		e.Wait = time.Duration(nums[1])*time.Minute + time.Duration(nums[2])*time.Second
	}
	return e
}
