package freeipa

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/krberror"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"
	"go.uber.org/zap"

	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// tgt is a ticket-granting ticket and its session key. It is never logged.
type tgt struct {
	ticket   messages.Ticket
	key      types.EncryptionKey
	authTime time.Time
	endTime  time.Time
}

// refreshAt is when the TGT should be replaced: two thirds into its life.
func (t *tgt) refreshAt() time.Time {
	return t.authTime.Add(t.endTime.Sub(t.authTime) * 2 / 3)
}

// usable reports whether the TGT can still get service tickets, with a
// margin so that the tickets it yields are not about to expire.
func (t *tgt) usable(now time.Time) bool {
	if t == nil {
		return false
	}
	margin := min(t.endTime.Sub(t.authTime)/6, 5*time.Minute)
	return now.Before(t.endTime.Add(-margin))
}

// kerberos logs in from a keytab and makes SPNEGO tokens. It keeps the TGT
// itself (gokrb5's client is only used for its KDC exchanges), so that the
// TGT's expiry is known and it is renewed in the background, not per probe.
type kerberos struct {
	cl        *client.Client
	principal string // name@REALM, for messages
	realm     string
	logger    *zap.Logger
	m         *metrics

	kdcMu sync.Mutex // serialises KDC exchanges (gokrb5's client is not safe for concurrent AS exchanges)

	mu  sync.Mutex
	cur *tgt
}

func newKerberos(s *settings, logger *zap.Logger, m *metrics) *kerberos {
	cl := client.NewWithKeytab(s.principal.PrincipalNameString(), s.realm, s.keytab, s.krb5, client.DisablePAFXFAST(true))
	return &kerberos{
		cl:        cl,
		principal: s.principal.PrincipalNameString() + "@" + s.realm,
		realm:     s.realm,
		logger:    logger,
		m:         m,
	}
}

// current returns the TGT held, or nil.
func (k *kerberos) current() *tgt {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cur
}

// forget drops the TGT, zeroing its session key.
func (k *kerberos) forget() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cur != nil {
		clear(k.cur.key.KeyValue)
	}
	k.cur = nil
}

// expiry returns the held TGT's end time, or the zero time.
func (k *kerberos) expiry() time.Time {
	if t := k.current(); t != nil {
		return t.endTime
	}
	return time.Time{}
}

// kdc runs a blocking KDC exchange, giving up waiting when ctx ends (the
// exchange itself times out after gokrb5's 5 s per KDC).
func (k *kerberos) kdc(ctx context.Context, method string, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		k.kdcMu.Lock()
		defer k.kdcMu.Unlock()
		if ctx.Err() != nil {
			done <- ctx.Err()
			return
		}
		start := time.Now()
		err := fn()
		k.m.observe(method, start)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// login gets a new TGT from the keytab (an AS exchange).
func (k *kerberos) login(ctx context.Context) (*tgt, error) {
	var rep messages.ASRep
	err := k.kdc(ctx, "kdc_as_req", func() error {
		req, err := messages.NewASReqForTGT(k.realm, k.cl.Config, k.cl.Credentials.CName())
		if err != nil {
			return krberror.Errorf(err, krberror.KRBMsgError, "build AS-REQ")
		}
		rep, err = k.cl.ASExchange(k.realm, req, 0)
		return err
	})
	if err != nil {
		return nil, k.classify(ctx, "login", err)
	}
	t := &tgt{
		ticket:   rep.Ticket,
		key:      rep.DecryptedEncPart.Key,
		authTime: rep.DecryptedEncPart.AuthTime,
		endTime:  rep.DecryptedEncPart.EndTime,
	}
	if t.authTime.IsZero() || t.authTime.After(time.Now()) {
		t.authTime = time.Now()
	}
	k.mu.Lock()
	k.cur = t
	k.mu.Unlock()
	k.logger.Info("Kerberos login succeeded", zap.String("principal", k.principal),
		zap.Time("tgt_expiry", t.endTime))
	return t, nil
}

// ensure returns a usable TGT, logging in when there is none.
func (k *kerberos) ensure(ctx context.Context) (*tgt, error) {
	if t := k.current(); t.usable(time.Now()) {
		return t, nil
	}
	return k.login(ctx)
}

// negotiate returns an `Authorization: Negotiate …` value for the service
// principal spn (HTTP/<fqdn>): a SPNEGO token wrapping a fresh AP-REQ.
func (k *kerberos) negotiate(ctx context.Context, spn string) (string, error) {
	t, err := k.ensure(ctx)
	if err != nil {
		return "", err
	}
	var rep messages.TGSRep
	err = k.kdc(ctx, "kdc_tgs_req", func() error {
		var err error
		princ := types.NewPrincipalName(nametype.KRB_NT_SRV_INST, spn)
		_, rep, err = k.cl.TGSREQGenerateAndExchange(princ, k.realm, t.ticket, t.key, false)
		return err
	})
	if err != nil {
		return "", k.classify(ctx, "get a service ticket for "+spn, err)
	}
	init, err := spnego.NewNegTokenInitKRB5(k.cl, rep.Ticket, rep.DecryptedEncPart.Key)
	if err != nil {
		return "", secrets.Errorf(ReasonKerberos, "freeipa: build SPNEGO token for %s: %v", spn, err)
	}
	tok := spnego.SPNEGOToken{Init: true, NegTokenInit: init}
	b, err := tok.Marshal()
	if err != nil {
		return "", secrets.Errorf(ReasonKerberos, "freeipa: marshal SPNEGO token for %s: %v", spn, err)
	}
	return "Negotiate " + base64.StdEncoding.EncodeToString(b), nil
}

// classify turns a gokrb5 error into a *secrets.Error a user can act on.
func (k *kerberos) classify(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return secrets.Errorf(secrets.ReasonTimeout, "freeipa: Kerberos %s as %s: %v", what, k.principal, ctx.Err())
	}
	msg := err.Error()
	var kerr krberror.Krberror
	isKrb := errors.As(err, &kerr)
	switch {
	case strings.Contains(msg, "KRB_AP_ERR_SKEW"):
		return secrets.Errorf(ReasonClockSkew, "freeipa: Kerberos %s as %s: the KDC reports clock skew too great: synchronise this host's clock (NTP) with the KDC", what, k.principal)
	case strings.Contains(msg, "KDC_ERR_C_PRINCIPAL_UNKNOWN"):
		return secrets.Errorf(ReasonKerberos, "freeipa: Kerberos %s: the KDC does not know principal %s", what, k.principal)
	case strings.Contains(msg, "KDC_ERR_S_PRINCIPAL_UNKNOWN"):
		return secrets.Errorf(ReasonKerberos, "freeipa: Kerberos %s as %s: the KDC does not know the service (is server the IPA server's FQDN?)", what, k.principal)
	case strings.Contains(msg, "KDC_ERR_PREAUTH_FAILED"), strings.Contains(msg, "client password/keytab incorrect"):
		return secrets.Errorf(ReasonKerberos, "freeipa: Kerberos %s as %s: the KDC rejected the keytab's key (keytab stale? re-run ipa-getkeytab)", what, k.principal)
	case strings.Contains(msg, "KDC_ERR_CLIENT_REVOKED"):
		return secrets.Errorf(ReasonKerberos, "freeipa: Kerberos %s: principal %s is disabled or locked", what, k.principal)
	case strings.Contains(msg, "KDC_ERR_ETYPE_NOSUPP"):
		return secrets.Errorf(ReasonKerberos, "freeipa: Kerberos %s as %s: no encryption type in common with the KDC (check the enctypes in krb5_conf and the keytab)", what, k.principal)
	case isKrb && kerr.RootCause == krberror.NetworkingError,
		strings.Contains(msg, "error sending to a KDC"), strings.Contains(msg, "failed to communicate with KDC"):
		return secrets.Errorf(ReasonKDCUnreachable, "freeipa: Kerberos %s as %s: no KDC of realm %s answered: %s", what, k.principal, k.realm, netPart(msg))
	case isKrb && kerr.RootCause == krberror.ConfigError,
		strings.Contains(msg, "no KDCs defined"), strings.Contains(msg, "error getting KDCs"):
		return secrets.Errorf(secrets.ReasonConfig, "freeipa: Kerberos %s as %s: no KDC for realm %s in krb5_conf: %s", what, k.principal, k.realm, lastPart(msg))
	case strings.Contains(msg, "KRB Error"):
		return secrets.Errorf(ReasonKerberos, "freeipa: Kerberos %s as %s: %s", what, k.principal, lastPart(msg))
	}
	return secrets.Errorf(ReasonKerberos, "freeipa: Kerberos %s as %s: %s", what, k.principal, lastPart(msg))
}

// lastPart strips gokrb5's "[Root cause: …]" prefix from an error text.
func lastPart(msg string) string {
	if i := strings.Index(msg, "] "); strings.HasPrefix(msg, "[Root cause:") && i > 0 {
		msg = msg[i+2:]
	}
	return msg
}

// netPart keeps the end of a gokrb5 networking error, from "dial" or
// "error reading" on, dropping its chain of wrappers.
func netPart(msg string) string {
	for _, marker := range []string{"dial ", "error reading", "error sending to KDC"} {
		if i := strings.LastIndex(msg, marker); i >= 0 {
			return msg[i:]
		}
	}
	return lastPart(msg)
}

// run keeps a fresh TGT until ctx ends: it logs in again two thirds into
// each TGT's life, and retries with backoff (1 s doubling to 1 min) after
// failures. onErr is told of each failure.
func (k *kerberos) run(ctx context.Context, onErr func(error)) {
	failures := 0
	for {
		wait := time.Second << min(failures, 6) // 1 s … 64 s
		if t := k.current(); failures == 0 && t != nil {
			wait = max(time.Until(t.refreshAt()), 0)
		}
		timer := time.NewTimer(min(wait, time.Minute*60))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		if t := k.current(); t != nil && time.Now().Before(t.refreshAt()) {
			failures = 0 // fresh enough: someone logged in meanwhile
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := k.login(lctx)
		cancel()
		switch {
		case err == nil:
			failures = 0
		case ctx.Err() != nil:
			return
		default:
			failures++
			onErr(err)
			k.logger.Warn("Kerberos TGT renewal failed", zap.String("principal", k.principal),
				zap.String("reason", secrets.ReasonOf(err)), zap.Error(err))
		}
	}
}
