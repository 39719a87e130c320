package hitron

import "context"

// Open is the dialect of the CODA-45 and CODA-56: the /data/*.asp pages
// answer without any session (gjcourt/modemscope reads a CODA-56 so,
// ReK42/modem-info a CODA-45). No credentials are needed, so none are ever
// looked up or sent; Login and Logout send nothing.
type Open struct{}

// Name implements Dialect.
func (Open) Name() string { return DialectOpen }

// NeedsCredentials implements Dialect.
func (Open) NeedsCredentials() bool { return false }

// Login implements Dialect: there is no session to open.
func (Open) Login(context.Context, *Session, Credentials) (bool, error) { return false, nil }

// Fetch implements Dialect. A redirect to a login page means the firmware
// now wants a session (ErrNotLoggedIn): the dialect no longer fits.
func (Open) Fetch(ctx context.Context, s *Session, ds Dataset) ([]byte, error) {
	return fetchDataPage(ctx, s, ds)
}

// Parse implements Dialect.
func (Open) Parse(d *Data, ds Dataset, body []byte, maxRows int) error {
	return d.ParseLimit(ds, body, maxRows)
}

// Logout implements Dialect: there is no session to end.
func (Open) Logout(context.Context, *Session) error { return nil }
