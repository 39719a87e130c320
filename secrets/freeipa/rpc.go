package freeipa

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// apiVersion is the JSON-RPC API version sent with every call (Debian 12's
// ipa client, 4.9.11). Any 2.x server accepts it.
const apiVersion = "2.251"

// ipaBytes is a binary JSON-RPC value, {"__base64__": "…"} on the wire.
type ipaBytes []byte

// MarshalJSON implements json.Marshaler.
func (b ipaBytes) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"__base64__": base64.StdEncoding.EncodeToString(b)})
}

// UnmarshalJSON implements json.Unmarshaler.
func (b *ipaBytes) UnmarshalJSON(d []byte) error {
	var v struct {
		B64 *string `json:"__base64__"`
	}
	if err := json.Unmarshal(d, &v); err != nil || v.B64 == nil {
		return errors.New(`want {"__base64__": …}`)
	}
	raw, err := base64.StdEncoding.DecodeString(*v.B64)
	if err != nil {
		return fmt.Errorf("bad __base64__ value: %w", err)
	}
	*b = raw
	return nil
}

// strList is a JSON string or list of strings.
type strList []string

// UnmarshalJSON implements json.Unmarshaler.
func (l *strList) UnmarshalJSON(d []byte) error {
	var one string
	if err := json.Unmarshal(d, &one); err == nil {
		*l = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(d, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

// rpcError is an error answer of the IPA JSON-RPC API.
type rpcError struct {
	Code    int    `json:"code"`
	Name    string `json:"name"`
	Message string `json:"message"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("%s (%d): %s", e.Name, e.Code, e.Message) }

// ipaClient talks to one IPA server: SPNEGO login, ipa_session cookie,
// JSON-RPC calls with one re-login on 401.
type ipaClient struct {
	fqdn    string
	base    string // https://host[:port]
	referer string // https://fqdn/ipa
	hc      *http.Client
	krb     *kerberos
	m       *metrics
	logger  *zap.Logger

	mu     sync.Mutex
	cookie string // ipa_session value; a secret, never logged
	gen    uint64 // bumped by each login

	loginMu sync.Mutex
}

func newIPAClient(s *settings, krb *kerberos, m *metrics, logger *zap.Logger, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *ipaClient {
	if dial == nil {
		dial = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         dial,
		TLSClientConfig:     &tls.Config{RootCAs: s.roots, ServerName: s.fqdn, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return &ipaClient{
		fqdn:    s.fqdn,
		base:    "https://" + strings.TrimSuffix(s.addr, ":443"),
		referer: "https://" + s.fqdn + "/ipa",
		hc: &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		krb:    krb,
		m:      m,
		logger: logger,
	}
}

func (c *ipaClient) session() (string, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cookie, c.gen
}

// login does the SPNEGO login unless another caller already replaced the
// session of generation staleGen.
func (c *ipaClient) login(ctx context.Context, staleGen uint64) error {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	if cookie, gen := c.session(); gen != staleGen && cookie != "" {
		return nil
	}
	authz, err := c.krb.negotiate(ctx, "HTTP/"+c.fqdn)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/ipa/session/login_kerberos", nil)
	if err != nil {
		return secrets.Errorf(secrets.ReasonConfig, "freeipa: %v", err)
	}
	req.Header.Set("Authorization", authz)
	req.Header.Set("Referer", c.referer)
	resp, err := c.do(req, "login_kerberos")
	if err != nil {
		return err
	}
	defer drain(resp)
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return secrets.Errorf(ReasonIPAAuth, "freeipa: %s refused the Kerberos login of %s (HTTP 401): check the server's clock and that server names the IPA server itself", c.fqdn, c.krb.principal)
	case resp.StatusCode != http.StatusOK:
		return c.statusErr("login_kerberos", resp)
	}
	var cookie string
	for _, ck := range resp.Cookies() {
		if ck.Name == "ipa_session" && ck.Value != "" {
			cookie = ck.Value
		}
	}
	if cookie == "" {
		return secrets.Errorf(ReasonIPA, "freeipa: %s accepted the Kerberos login but set no ipa_session cookie", c.fqdn)
	}
	c.mu.Lock()
	c.cookie = cookie
	c.gen++
	c.mu.Unlock()
	c.logger.Debug("IPA session established", zap.String("server", c.fqdn))
	return nil
}

// forget drops the session cookie.
func (c *ipaClient) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cookie = ""
	c.gen++
}

// dropSession forgets the session of generation gen.
func (c *ipaClient) dropSession(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.cookie = ""
	}
}

// call runs one JSON-RPC command and decodes its result.result into out.
// It logs in first when there is no session, and once more on HTTP 401.
func (c *ipaClient) call(ctx context.Context, method string, args []any, opts map[string]any, out any) error {
	if opts == nil {
		opts = map[string]any{}
	}
	opts["version"] = apiVersion
	body, err := json.Marshal(map[string]any{"method": method, "params": []any{args, opts}, "id": 0})
	if err != nil {
		return fmt.Errorf("freeipa: encode %s: %w", method, err)
	}
	for attempt := 0; ; attempt++ {
		cookie, gen := c.session()
		if cookie == "" {
			if err := c.login(ctx, gen); err != nil {
				return err
			}
			cookie, gen = c.session()
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/ipa/session/json", bytes.NewReader(body))
		if err != nil {
			return secrets.Errorf(secrets.ReasonConfig, "freeipa: %v", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Referer", c.referer)
		req.Header.Set("Cookie", "ipa_session="+cookie)
		resp, err := c.do(req, method)
		if err != nil {
			return err
		}
		if resp.StatusCode == http.StatusUnauthorized {
			drain(resp)
			c.dropSession(gen)
			if attempt == 0 {
				c.logger.Debug("IPA session expired, logging in again", zap.String("server", c.fqdn))
				continue
			}
			return secrets.Errorf(ReasonIPAAuth, "freeipa: %s answered HTTP 401 to %s right after a fresh Kerberos login", c.fqdn, method)
		}
		defer drain(resp)
		if resp.StatusCode != http.StatusOK {
			return c.statusErr(method, resp)
		}
		var env struct {
			Result *struct {
				Result json.RawMessage `json:"result"`
			} `json:"result"`
			Error *rpcError `json:"error"`
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&env); err != nil {
			return secrets.Errorf(ReasonIPA, "freeipa: %s: %s answered with invalid JSON", method, c.fqdn)
		}
		if env.Error != nil {
			return env.Error
		}
		if env.Result == nil || len(env.Result.Result) == 0 {
			return secrets.Errorf(ReasonIPA, "freeipa: %s: %s answered with neither result nor error", method, c.fqdn)
		}
		if out != nil {
			if err := json.Unmarshal(env.Result.Result, out); err != nil {
				return secrets.Errorf(ReasonIPA, "freeipa: %s: unexpected result from %s: %v", method, c.fqdn, err)
			}
		}
		return nil
	}
}

// do sends req, counting and timing it, and maps transport failures.
func (c *ipaClient) do(req *http.Request, method string) (*http.Response, error) {
	start := time.Now()
	resp, err := c.hc.Do(req)
	c.m.observe(method, start)
	if err == nil {
		return resp, nil
	}
	ctx := req.Context()
	if ctx.Err() != nil {
		return nil, secrets.Errorf(secrets.ReasonTimeout, "freeipa: %s to %s: %v", method, c.fqdn, ctx.Err())
	}
	var (
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		certErr   x509.CertificateInvalidError
		tlsErr    *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &unknownCA):
		return nil, secrets.Errorf(ReasonIPATLS, "freeipa: %s: the certificate of %s is not signed by a CA in ca_file", method, c.fqdn)
	case errors.As(err, &hostErr):
		return nil, secrets.Errorf(ReasonIPATLS, "freeipa: %s: the certificate of %s does not name it: %v", method, c.fqdn, hostErr)
	case errors.As(err, &certErr):
		return nil, secrets.Errorf(ReasonIPATLS, "freeipa: %s: the certificate of %s is invalid: %v", method, c.fqdn, certErr)
	case errors.As(err, &tlsErr):
		return nil, secrets.Errorf(ReasonIPATLS, "freeipa: %s: TLS verification of %s failed: %v", method, c.fqdn, tlsErr.Err)
	}
	return nil, secrets.Errorf(ReasonIPAUnreachable, "freeipa: %s: cannot reach IPA server %s: %v", method, c.fqdn, netCause(err))
}

// netCause drops the *url.Error wrapper, whose text repeats the URL.
func netCause(err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		return op
	}
	return err
}

func (c *ipaClient) statusErr(method string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode == http.StatusBadRequest && bytes.Contains(bytes.ToLower(b), []byte("denied")):
		return secrets.Errorf(ReasonIPA, "freeipa: %s: %s refused the request (HTTP 400 denied: Referer check); server must be the IPA server's own FQDN", method, c.fqdn)
	case resp.StatusCode >= 500:
		return secrets.Errorf(ReasonIPAUnreachable, "freeipa: %s: %s answered HTTP %d", method, c.fqdn, resp.StatusCode)
	}
	return secrets.Errorf(ReasonIPA, "freeipa: %s: %s answered HTTP %d", method, c.fqdn, resp.StatusCode)
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}
