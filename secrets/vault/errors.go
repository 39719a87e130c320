package vault

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// vaultError carries a message built by this package (scrubbed of secrets)
// while keeping the original error reachable through errors.As/Is.
type vaultError struct {
	msg   string
	cause error
}

func (e *vaultError) Error() string { return e.msg }
func (e *vaultError) Unwrap() error { return e.cause }

// isStatus reports whether err is a Vault response with HTTP status code.
func isStatus(err error, code int) bool {
	var re *api.ResponseError
	return errors.As(err, &re) && re.StatusCode == code
}

// classify turns an error from the Vault API into a *secrets.Error with a
// reason. op says what was being done ("reading secret/data/x"); login
// selects the reasons for authentication requests.
func (p *Provider) classify(ctx context.Context, op string, err error, login bool) error {
	reason, detail := secrets.ReasonUnknown, ""
	var re *api.ResponseError
	switch {
	case errors.Is(err, api.ErrSecretNotFound):
		reason, detail = secrets.ReasonNotFound, "secret not found"
	case errors.As(err, &re):
		msgs := vaultMessages(re.Errors)
		if len(msgs) > 300 {
			msgs = msgs[:300] + "..."
		}
		detail = fmt.Sprintf("HTTP %d", re.StatusCode)
		if msgs != "" {
			detail += ": " + msgs
		}
		switch {
		case re.StatusCode == 503:
			reason = secrets.ReasonUnavailable
			if strings.Contains(strings.ToLower(msgs), "sealed") {
				detail = "Vault is sealed (HTTP 503)"
			}
		case re.StatusCode == 429 || re.StatusCode >= 500:
			reason = secrets.ReasonUnavailable
		case login:
			reason = secrets.ReasonAuthFailed
		case re.StatusCode == 403:
			reason = secrets.ReasonPermissionDenied
		case re.StatusCode == 404:
			reason = secrets.ReasonNotFound
		}
	case ctx.Err() != nil:
		reason, detail = secrets.ReasonTimeout, "gave up: "+ctx.Err().Error()
	case errors.Is(err, context.DeadlineExceeded):
		reason, detail = secrets.ReasonUnavailable, fmt.Sprintf("no answer within %s", p.cfg.Timeout)
	default:
		reason, detail = secrets.ReasonUnavailable, err.Error()
	}
	msg := p.scrub(fmt.Sprintf("vault: %s: %s", op, detail))
	return &secrets.Error{Reason: reason, Err: &vaultError{msg: msg, cause: err}}
}

var multiErrorPrefix = regexp.MustCompile(`^\d+ errors? occurred:\s*`)

// vaultMessages flattens Vault's error list, including its multi-line
// "N errors occurred: * a * b" form, to "a; b".
func vaultMessages(errs []string) string {
	var out []string
	for _, e := range errs {
		e = strings.Join(strings.Fields(e), " ")
		e = multiErrorPrefix.ReplaceAllString(e, "")
		for _, part := range strings.Split(e, "* ") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return strings.Join(out, "; ")
}
