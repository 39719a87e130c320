package hitron

import "context"

// Open is the dialect of the CODA-45 and CODA-56: the /data/*.asp pages
// answer without any session (gjcourt/modemscope reads a CODA-56 so,
// ReK42/modem-info a CODA-45). No credentials are needed, so none are ever
// looked up or sent; Login and Logout send nothing.
type Open struct{ dataPages }

// Name implements Dialect.
func (Open) Name() string { return DialectOpen }

// NeedsCredentials implements Dialect.
func (Open) NeedsCredentials() bool { return false }

// Login implements Dialect: there is no session to open.
func (Open) Login(context.Context, *Session, Credentials) (bool, error) { return false, nil }

// Logout implements Dialect: there is no session to end.
func (Open) Logout(context.Context, *Session) error { return nil }
