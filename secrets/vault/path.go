package vault

import (
	"errors"
	"fmt"
	"strings"
	"text/template"

	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// ReasonInvalidTarget is the error reason for a target that cannot be used
// in a Vault path (for example one containing "/" or "..").
const ReasonInvalidTarget = "invalid_target"

// pathVars is the data the path template sees. Its methods check each value
// as it is used, so a template that only uses .Host accepts any target.
type pathVars struct{ req secrets.Request }

// Target returns the probe target, if it is safe as one path segment.
func (v pathVars) Target() (string, error) { return checkSegment("target", v.req.Target) }

// Host returns the target's host, if it is safe as one path segment.
func (v pathVars) Host() (string, error) { return checkSegment("host", v.req.Host) }

// segmentError is the cause returned through text/template.
type segmentError struct{ msg string }

func (e *segmentError) Error() string { return e.msg }

// checkSegment allows what host names, IPv4/IPv6 literals and ports are made
// of, so a value can never add, climb or escape a path segment.
func checkSegment(name, v string) (string, error) {
	switch {
	case v == "":
		return "", &segmentError{fmt.Sprintf("%s is empty", name)}
	case v == "." || strings.Contains(v, ".."):
		return "", &segmentError{fmt.Sprintf("%s %q contains \"..\" or is \".\"", name, v)}
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '.' || r == '-' || r == '_' || r == ':' || r == '[' || r == ']') {
			hint := ""
			if r == '/' && name == "target" {
				hint = " (use {{ .Host }} in path for URL-style targets)"
			}
			return "", &segmentError{fmt.Sprintf("%s %q contains %q, which is not allowed in a Vault path segment%s", name, v, r, hint)}
		}
	}
	return v, nil
}

// validVaultPath reports whether p is a clean relative Vault path: no empty,
// "." or ".." segments and no characters that change a URL's meaning.
func validVaultPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	for _, r := range p {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(`?#%\"'<>`, r) {
			return false
		}
	}
	return true
}

// renderPath executes the path template for req.
func renderPath(tmpl *template.Template, req secrets.Request) (string, error) {
	var b strings.Builder
	if err := tmpl.Execute(&b, pathVars{req: req}); err != nil {
		var se *segmentError
		if errors.As(err, &se) {
			return "", &secrets.Error{Reason: ReasonInvalidTarget, Err: fmt.Errorf("vault path for target %q: %s", req.Target, se.msg)}
		}
		return "", &secrets.Error{Reason: secrets.ReasonConfig, Err: fmt.Errorf("vault path for target %q: %w", req.Target, err)}
	}
	p := b.String()
	if !validVaultPath(p) {
		return "", &secrets.Error{Reason: ReasonInvalidTarget, Err: fmt.Errorf("vault path for target %q: rendered path %q is not a clean relative path", req.Target, p)}
	}
	return p, nil
}
