package secrets

import (
	"fmt"
	"log/slog"
)

// Redacted is what every printed or marshalled form of Credentials shows.
const Redacted = "<secret>"

// Credentials is a modem username and password. Every way of printing or
// marshalling it (String, GoString, fmt verbs, JSON, YAML, text, slog) shows
// Redacted, so credentials cannot leak through logs, errors or debug output;
// only Username and Password reveal the values.
type Credentials struct {
	username string
	password string
}

// NewCredentials returns credentials holding username and password.
func NewCredentials(username, password string) Credentials {
	return Credentials{username: username, password: password}
}

// Username returns the login name to send to the modem.
func (c Credentials) Username() string { return c.username }

// Password returns the password to send to the modem.
func (c Credentials) Password() string { return c.password }

// IsZero reports whether both username and password are empty.
func (c Credentials) IsZero() bool { return c.username == "" && c.password == "" }

// Equal reports whether c and o hold the same username and password.
func (c Credentials) Equal(o Credentials) bool {
	return c.username == o.username && c.password == o.password
}

// String implements fmt.Stringer and returns Redacted.
func (Credentials) String() string { return Redacted }

// GoString implements fmt.GoStringer and returns Redacted.
func (Credentials) GoString() string { return Redacted }

// Format implements fmt.Formatter: every verb, %v, %+v, %#v, %s, %q and %x
// included, prints Redacted.
func (Credentials) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		_, _ = fmt.Fprintf(f, "%q", Redacted)
		return
	}
	_, _ = f.Write([]byte(Redacted))
}

// MarshalJSON implements json.Marshaler and returns "<secret>".
func (Credentials) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler and returns Redacted.
func (Credentials) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// MarshalYAML implements the YAML marshaller interface and returns Redacted.
func (Credentials) MarshalYAML() (any, error) { return Redacted, nil }

// LogValue implements slog.LogValuer and returns Redacted.
func (Credentials) LogValue() slog.Value { return slog.StringValue(Redacted) }
