// Package ipaemu is a FreeIPA server emulator for tests: an HTTPS server
// that authenticates clients with SPNEGO against the HTTP/<fqdn> keytab of a
// real KDC, issues ipa_session cookies, and serves the JSON-RPC commands
// vault_show, vaultconfig_show and vault_retrieve_internal as a real server
// and its KRA do (transport key, session-key unwrap, re-encryption), plus
// ping and env. Switches reproduce older servers (3DES only), OAEP-mode
// KRAs, strict Referer checks, short sessions, a missing KRA and denied
// membership. It follows /work/shared/reference/freeipa-vault.md §5.
package ipaemu

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"
)

// Options are the emulator's switches. Change them at run time with Set.
type Options struct {
	// Legacy emulates a server before 4.9.9: vaultconfig_show has no
	// wrapping algorithms and wrapping_algo is an unknown option (3005).
	Legacy bool
	// KRAOAEP makes the KRA unwrap session keys with RSA-OAEP(SHA-256) only,
	// so PKCS#1 v1.5 keys fail with 3001.
	KRAOAEP bool
	// No3DES drops 3DES from the supported algorithms (a missing
	// wrapping_algo then fails with 3009).
	No3DES bool
	// StrictReferer answers a bad Referer with HTTP 400 "denied", as
	// servers since 4.9.14/4.10.3/4.11.1/4.12.0 do; otherwise JSON error 911.
	StrictReferer bool
	// SessionTTL, when positive, caps each session's life below the
	// client's service-ticket end time.
	SessionTTL time.Duration
	// KRADisabled answers every vault command with 3000.
	KRADisabled bool
	// DenyMembership hides every vault from every caller (4001), as the
	// LDAP ACIs do for non-members.
	DenyMembership bool
	// ListenAddr is the address to listen on (default 127.0.0.1:0). The
	// Python ipa CLI only connects to port 443.
	ListenAddr string
}

// Server is a running emulator.
type Server struct {
	// FQDN is the server's host name (certificate, SPN, Referer).
	FQDN string
	// Realm is the Kerberos realm.
	Realm string
	// Addr is the 127.0.0.1:port the server listens on.
	Addr string
	// CAFile is a PEM file of the CA that signed the server certificate.
	CAFile string
	// OtherCAFile is a PEM file of an unrelated CA, for untrusted-server tests.
	OtherCAFile string
	// DefaultConf is an /etc/ipa/default.conf naming this server (its
	// directory, with ca.crt, suits IPA_CONFDIR).
	DefaultConf string

	ts   *httptest.Server
	pki  *pki
	opts Options

	mu       sync.Mutex
	keytab   *keytab.Keytab
	vaults   map[string]*Vault
	sessions map[string]session
	replay   map[string]bool
	calls    map[string]int
	issued   []string
}

type session struct {
	principal string
	expires   time.Time
}

// Vault is one emulated vault.
type Vault struct {
	// Type is standard, symmetric or asymmetric.
	Type string
	// Blob is the archived JSON the KRA stores ({"data": …}); nil means
	// nothing archived ("No archived data.").
	Blob []byte
	// Salt is the symmetric vault's salt.
	Salt []byte
	// Members and Owners are principals (name@REALM) that may read it.
	Members, Owners []string
}

// Start starts an emulator for fqdn whose HTTP/<fqdn> keys are in
// keytabPath, and stops it when the test ends.
func Start(t testing.TB, fqdn, realm, keytabPath string, opts Options) *Server {
	t.Helper()
	kt, err := keytab.Load(keytabPath)
	if err != nil {
		t.Fatalf("ipaemu: load service keytab: %v", err)
	}
	p, err := newPKI(fqdn)
	if err != nil {
		t.Fatalf("ipaemu: PKI: %v", err)
	}
	s := &Server{
		FQDN: fqdn, Realm: realm, pki: p, opts: opts, keytab: kt,
		vaults: map[string]*Vault{}, sessions: map[string]session{},
		replay: map[string]bool{}, calls: map[string]int{},
	}
	dir := t.TempDir()
	s.CAFile = filepath.Join(dir, "ca.crt")
	s.OtherCAFile = filepath.Join(dir, "other-ca.crt")
	must(t, os.WriteFile(s.CAFile, p.caPEM, 0o644))
	must(t, os.WriteFile(s.OtherCAFile, p.otherCAPEM, 0o644))

	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.ts.TLS = &tls.Config{Certificates: []tls.Certificate{p.leaf}, MinVersion: tls.VersionTLS12}
	if opts.ListenAddr != "" {
		l, err := net.Listen("tcp", opts.ListenAddr)
		if err != nil {
			t.Fatalf("ipaemu: listen on %s: %v", opts.ListenAddr, err)
		}
		_ = s.ts.Listener.Close()
		s.ts.Listener = l
	}
	s.ts.StartTLS()
	t.Cleanup(s.ts.Close)
	s.Addr = s.ts.Listener.Addr().String()
	domain := fqdn
	if i := strings.Index(fqdn, "."); i > 0 {
		domain = fqdn[i+1:]
	}
	conf := fmt.Sprintf("[global]\nbasedn = dc=%s\nrealm = %s\ndomain = %s\nserver = %s\nhost = client.%s\nxmlrpc_uri = https://%s/ipa/xml\nenable_ra = True\n",
		strings.ReplaceAll(domain, ".", ",dc="), realm, domain, fqdn, domain, fqdn)
	s.DefaultConf = filepath.Join(dir, "default.conf")
	must(t, os.WriteFile(s.DefaultConf, []byte(conf), 0o644))
	return s
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("ipaemu: %v", err)
	}
}

// Server returns fqdn:port, the value of the provider's `server` key.
func (s *Server) Server() string {
	_, port, _ := net.SplitHostPort(s.Addr)
	return net.JoinHostPort(s.FQDN, port)
}

// DialContext dials the emulator for any address naming its FQDN, so that
// clients need no DNS entry; other addresses are refused.
func (s *Server) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	_, myPort, _ := net.SplitHostPort(s.Addr)
	if !strings.EqualFold(host, s.FQDN) || port != myPort {
		return nil, fmt.Errorf("ipaemu: refusing to dial %s", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, s.Addr)
}

// Set changes the switches.
func (s *Server) Set(f func(*Options)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.opts)
}

func (s *Server) options() Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts
}

// Close stops the server (tests use it to make the server unreachable).
func (s *Server) Close() { s.ts.Close() }

// Calls returns how many times method was called (JSON-RPC methods by
// name; "login" counts accepted Negotiate logins; "401" counts refusals).
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// CallCounts returns a copy of all call counters.
func (s *Server) CallCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// ResetCalls zeroes the call counters.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
}

// SessionCookies returns the ipa_session values issued so far, for tests
// that check they never leak.
func (s *Server) SessionCookies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.sessions {
		out = append(out, k)
	}
	return append(out, s.issued...)
}

// ExpireSessions invalidates every session, as a server restart or the
// delegated ccache's cleanup would.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions = map[string]session{}
}

func (s *Server) count(method string) {
	s.mu.Lock()
	s.calls[method]++
	s.mu.Unlock()
}

func vaultKey(container, name string) string { return container + "|" + name }

// containerOf normalises an owner (service:PRINCIPAL or user:NAME) to the
// container the server addresses: "services/host/x@REALM" or "users/x".
func (s *Server) containerOf(owner string) string {
	kind, name, _ := strings.Cut(owner, ":")
	if kind == "user" {
		return "users/" + name
	}
	if !strings.Contains(name, "@") {
		name += "@" + s.Realm
	}
	return "services/" + name
}

// AddVault stores a vault under owner (service:PRINCIPAL or user:NAME).
func (s *Server) AddVault(owner, name string, v Vault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vaults[vaultKey(s.containerOf(owner), name)] = &v
}

// ArchiveStandard stores secret in a standard vault readable by members,
// as `ipa vault-add --type standard` + `vault-archive --in` +
// `vault-add-member --services` would.
func (s *Server) ArchiveStandard(owner, name string, secret []byte, members ...string) {
	s.AddVault(owner, name, Vault{Type: "standard", Blob: blob(secret), Members: members, Owners: []string{"admin@" + s.Realm}})
}

// ArchiveSymmetric stores secret in a symmetric vault protected by
// password, as the ipa CLI archives it (PBKDF2-SHA256 key, Fernet token).
func (s *Server) ArchiveSymmetric(owner, name string, secret []byte, password string, members ...string) error {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return err
	}
	key, err := pbkdf2.Key(sha256.New, password, salt, 100000, 32)
	if err != nil {
		return err
	}
	tok, err := fernetEncrypt(key, secret)
	if err != nil {
		return err
	}
	s.AddVault(owner, name, Vault{Type: "symmetric", Blob: blob(tok), Salt: salt, Members: members, Owners: []string{"admin@" + s.Realm}})
	return nil
}

// blob is the JSON the ipa client archives: {"data": "<base64>"}.
func blob(payload []byte) []byte {
	b, _ := json.Marshal(map[string]string{"data": base64.StdEncoding.EncodeToString(payload)})
	// The Python client's json.dumps puts a space after the colon.
	return bytes.Replace(b, []byte(`":"`), []byte(`": "`), 1)
}

func fernetEncrypt(key, msg []byte) ([]byte, error) {
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key[16:])
	if err != nil {
		return nil, err
	}
	pad := aes.BlockSize - len(msg)%aes.BlockSize
	pt := append(append([]byte{}, msg...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, pt)
	tok := []byte{0x80}
	tok = binary.BigEndian.AppendUint64(tok, uint64(time.Now().Unix()))
	tok = append(append(tok, iv...), ct...)
	h := hmac.New(sha256.New, key[:16])
	h.Write(tok)
	tok = h.Sum(tok)
	return []byte(base64.URLEncoding.EncodeToString(tok)), nil
}

// ---- HTTP front end (mod_auth_gssapi + mod_session) ----

const unauthorizedHTML = "<html><head><title>401 Unauthorized</title></head><body><h1>Unauthorized</h1></body></html>\n"

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/ipa") {
		http.NotFound(w, r)
		return
	}
	principal, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	switch r.URL.Path {
	case "/ipa/session/login_kerberos":
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if s.options().StrictReferer && !s.refererOK(r) {
			s.count("400")
			http.Error(w, "denied", http.StatusBadRequest)
			return
		}
		s.count("login_kerberos")
		w.Header().Set("X-Frame-Options", "DENY")
		w.WriteHeader(http.StatusOK)
	case "/ipa/json", "/ipa/session/json":
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		s.serveJSON(w, r, principal)
	default:
		http.NotFound(w, r)
	}
}

// authenticate accepts a valid ipa_session cookie or a Negotiate header. On
// failure it writes the 401 and returns false.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	if ck, err := r.Cookie("ipa_session"); err == nil {
		s.mu.Lock()
		sess, ok := s.sessions[ck.Value]
		s.mu.Unlock()
		if ok && time.Now().Before(sess.expires) {
			return sess.principal, true
		}
	}
	authz := r.Header.Get("Authorization")
	if authz == "" {
		s.count("401")
		w.Header().Set("WWW-Authenticate", "Negotiate")
		w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(unauthorizedHTML))
		return "", false
	}
	res, err := s.accept(authz)
	if err != nil {
		// No fresh bare challenge after a failed token (GssapiNegotiateOnce).
		s.count("401")
		w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(unauthorizedHTML))
		return "", false
	}
	exp := res.endTime
	if ttl := s.options().SessionTTL; ttl > 0 && time.Now().Add(ttl).Before(exp) {
		exp = time.Now().Add(ttl)
	}
	raw := make([]byte, 48)
	_, _ = rand.Read(raw)
	value := "MagBearerToken=" + url.QueryEscape(base64.StdEncoding.EncodeToString(raw))
	s.mu.Lock()
	s.sessions[value] = session{principal: res.principal, expires: exp}
	s.issued = append(s.issued, value)
	s.calls["login"]++
	s.mu.Unlock()
	w.Header().Set("WWW-Authenticate", "Negotiate "+res.reply)
	w.Header().Set("IPASESSION", value)
	w.Header().Add("Set-Cookie", "ipa_session="+value+";path=/ipa;httponly;secure;")
	return res.principal, true
}

func (s *Server) refererOK(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Referer"), "https://"+s.FQDN+"/ipa")
}

// ---- JSON-RPC ----

type rpcErr struct {
	Code    int            `json:"code"`
	Name    string         `json:"name"`
	Message string         `json:"message"`
	Data    map[string]any `json:"data"`
}

func newErr(code int, name, msg string) *rpcErr {
	return &rpcErr{Code: code, Name: name, Message: msg, Data: map[string]any{"reason": msg}}
}

func (s *Server) serveJSON(w http.ResponseWriter, r *http.Request, principal string) {
	opts := s.options()
	reply := func(id any, result any, e *rpcErr) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"result": result, "error": e, "id": id, "principal": principal, "version": "4.9.11",
		})
	}
	if !s.refererOK(r) {
		if opts.StrictReferer && r.URL.Path == "/ipa/session/json" {
			s.count("400")
			http.Error(w, "denied", http.StatusBadRequest)
			return
		}
		s.count("911")
		reply(0, nil, newErr(911, "RefererError", "Missing or invalid HTTP Referer, "+r.Header.Get("Referer")))
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		name := strings.TrimPrefix(r.URL.Path, "/ipa/")
		reply(0, nil, newErr(905, "CommandError", fmt.Sprintf("unknown command '%s'", name)))
		return
	}
	var req struct {
		Method string            `json:"method"`
		Params []json.RawMessage `json:"params"`
		ID     any               `json:"id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Params) != 2 {
		reply(0, nil, newErr(909, "JSONError", "Invalid JSON-RPC request"))
		return
	}
	var args []any
	var options map[string]json.RawMessage
	if json.Unmarshal(req.Params[0], &args) != nil || json.Unmarshal(req.Params[1], &options) != nil {
		reply(req.ID, nil, newErr(909, "JSONError", "Invalid JSON-RPC request"))
		return
	}
	if options == nil {
		options = map[string]json.RawMessage{}
	}
	method := strings.TrimSuffix(req.Method, "/1")
	s.count(method)
	if v, ok := options["version"]; ok {
		var ver string
		_ = json.Unmarshal(v, &ver)
		if !strings.HasPrefix(ver, "2.") {
			reply(req.ID, nil, newErr(901, "VersionError", fmt.Sprintf("%s: API version mismatch: client version %s is not compatible with server version 2.251", method, ver)))
			return
		}
	}
	var (
		result any
		e      *rpcErr
	)
	switch method {
	case "vault_show":
		result, e = s.vaultShow(principal, args, options, opts)
	case "vaultconfig_show":
		result, e = s.vaultConfigShow(options, opts)
	case "vault_retrieve_internal":
		result, e = s.vaultRetrieve(principal, args, options, opts)
	case "ping":
		result = map[string]any{"summary": "IPA server version 4.9.11. API version 2.251", "messages": []any{}}
	case "schema":
		result, e = s.schema(options, opts)
	case "env":
		result = map[string]any{"result": map[string]any{"api_version": "2.251"}, "count": 1, "total": 1, "summary": "1 variable"}
	default:
		e = newErr(905, "CommandError", fmt.Sprintf("unknown command '%s'", req.Method))
	}
	if e != nil {
		reply(req.ID, nil, e)
		return
	}
	reply(req.ID, result, nil)
}

func b64(b []byte) map[string]string {
	return map[string]string{"__base64__": base64.StdEncoding.EncodeToString(b)}
}

func checkOptions(options map[string]json.RawMessage, allowed ...string) *rpcErr {
	ok := map[string]bool{"version": true}
	for _, a := range allowed {
		ok[a] = true
	}
	var names []string
	for k := range options {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !ok[k] {
			return newErr(3005, "OptionError", "Unknown option: "+k)
		}
	}
	return nil
}

// lookup resolves the vault addressed by args and the container options,
// enforcing the read ACL as the caller.
func (s *Server) lookup(principal string, args []any, options map[string]json.RawMessage, opts Options) (string, string, *Vault, *rpcErr) {
	if len(args) != 1 {
		return "", "", nil, newErr(3007, "RequirementError", "'cn' is required")
	}
	name, _ := args[0].(string)
	if name == "" {
		return "", "", nil, newErr(3007, "RequirementError", "'cn' is required")
	}
	var service, username string
	var shared bool
	n := 0
	if v, ok := options["service"]; ok {
		_ = json.Unmarshal(v, &service)
		n++
	}
	if v, ok := options["username"]; ok {
		_ = json.Unmarshal(v, &username)
		n++
	}
	if v, ok := options["shared"]; ok {
		_ = json.Unmarshal(v, &shared)
		if shared {
			n++
		}
	}
	if n > 1 {
		return "", "", nil, newErr(4303, "MutuallyExclusiveError", "Service, shared and user options cannot be specified simultaneously")
	}
	var container string
	switch {
	case service != "":
		container = s.containerOf("service:" + service)
	case username != "":
		container = s.containerOf("user:" + username)
	case shared:
		container = "shared"
	default:
		// The caller's own container.
		p := strings.SplitN(principal, "@", 2)[0]
		if strings.HasPrefix(p, "host/") {
			return "", "", nil, newErr(3009, "ValidationError", "invalid 'service': Host is not supported")
		}
		if strings.Contains(p, "/") {
			container = s.containerOf("service:" + principal)
		} else {
			container = s.containerOf("user:" + p)
		}
	}
	s.mu.Lock()
	v, ok := s.vaults[vaultKey(container, name)]
	s.mu.Unlock()
	if !ok || opts.DenyMembership || !(contains(v.Members, principal) || contains(v.Owners, principal)) {
		return "", "", nil, newErr(4001, "NotFound", name+": vault not found")
	}
	return name, container, v, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func (s *Server) vaultShow(principal string, args []any, options map[string]json.RawMessage, opts Options) (any, *rpcErr) {
	if e := checkOptions(options, "service", "username", "shared", "rights", "all", "raw", "no_members"); e != nil {
		return nil, e
	}
	if opts.KRADisabled {
		return nil, newErr(3000, "InvocationError", "KRA service is not enabled")
	}
	name, container, v, e := s.lookup(principal, args, options, opts)
	if e != nil {
		return nil, e
	}
	res := map[string]any{
		"cn":           []string{name},
		"ipavaulttype": []string{v.Type},
		"owner_user":   []string{"admin"},
	}
	var memberServices, memberUsers []string
	for _, m := range v.Members {
		if strings.Contains(strings.SplitN(m, "@", 2)[0], "/") {
			memberServices = append(memberServices, m)
		} else {
			memberUsers = append(memberUsers, strings.SplitN(m, "@", 2)[0])
		}
	}
	if len(memberServices) > 0 {
		res["member_service"] = memberServices
	}
	if len(memberUsers) > 0 {
		res["member_user"] = memberUsers
	}
	if v.Type == "symmetric" {
		res["ipavaultsalt"] = []any{b64(v.Salt)}
	}
	kind, cname, _ := strings.Cut(container, "/")
	switch kind {
	case "services":
		res["service"] = cname
	case "users":
		res["username"] = cname
	default:
		res["shared"] = true
	}
	res["dn"] = fmt.Sprintf("cn=%s,cn=%s,cn=%s,cn=vaults,cn=kra,dc=example,dc=test", name, cname, kind)
	return map[string]any{"result": res, "value": name, "summary": nil}, nil
}

func (s *Server) vaultConfigShow(options map[string]json.RawMessage, opts Options) (any, *rpcErr) {
	if e := checkOptions(options, "transport_out", "all", "raw"); e != nil {
		return nil, e
	}
	if opts.KRADisabled {
		return nil, newErr(3000, "InvocationError", "KRA service is not enabled")
	}
	res := map[string]any{
		"transport_cert":    b64(s.pki.transportDER),
		"kra_server_server": []string{s.FQDN},
	}
	if !opts.Legacy {
		supported := []string{"aes-128-cbc"}
		if !opts.No3DES {
			supported = append(supported, "des-ede3-cbc")
		}
		res["wrapping_supported_algorithms"] = supported
		res["wrapping_default_algorithm"] = "aes-128-cbc"
	}
	return map[string]any{"result": res, "value": nil, "summary": nil}, nil
}

func (s *Server) vaultRetrieve(principal string, args []any, options map[string]json.RawMessage, opts Options) (any, *rpcErr) {
	allowed := []string{"service", "username", "shared", "session_key", "all", "raw"}
	if !opts.Legacy {
		allowed = append(allowed, "wrapping_algo")
	}
	if e := checkOptions(options, allowed...); e != nil {
		return nil, e
	}
	if opts.KRADisabled {
		return nil, newErr(3000, "InvocationError", "KRA service is not enabled")
	}
	rawKey, ok := options["session_key"]
	if !ok {
		return nil, newErr(3007, "RequirementError", "'session_key' is required")
	}
	var sk struct {
		B64 string `json:"__base64__"`
	}
	if err := json.Unmarshal(rawKey, &sk); err != nil {
		return nil, newErr(3009, "ValidationError", "invalid 'session_key': must be binary data")
	}
	wrapped, err := base64.StdEncoding.DecodeString(sk.B64)
	if err != nil {
		return nil, newErr(3009, "ValidationError", "invalid 'session_key': must be binary data")
	}
	algo := "des-ede3-cbc" // autofilled default for old clients
	if v, ok := options["wrapping_algo"]; ok {
		_ = json.Unmarshal(v, &algo)
	}
	if algo != "aes-128-cbc" && algo != "des-ede3-cbc" {
		return nil, newErr(3009, "ValidationError", "invalid 'wrapping_algo': must be one of 'aes-128-cbc', 'des-ede3-cbc'")
	}
	if algo == "des-ede3-cbc" && opts.No3DES {
		return nil, newErr(3009, "ValidationError", "invalid 'wrapping_algo': must be one of 'aes-128-cbc'")
	}
	delete(options, "session_key")
	delete(options, "wrapping_algo")
	name, _, v, e := s.lookup(principal, args, options, opts)
	if e != nil {
		return nil, e
	}
	if v.Blob == nil {
		return nil, newErr(4001, "NotFound", "No archived data.")
	}
	// The KRA: unwrap the session key with the transport private key.
	var key []byte
	if opts.KRAOAEP {
		key, err = rsa.DecryptOAEP(sha256.New(), nil, s.pki.transportKey, wrapped, nil)
	} else {
		//lint:ignore SA1019 Dogtag's KRA unwraps PKCS#1 v1.5 session keys by default
		key, err = rsa.DecryptPKCS1v15(nil, s.pki.transportKey, wrapped)
	}
	if err != nil {
		s.count("3001")
		return nil, newErr(3001, "EncodingError", "Unable to retrieve key: Failed to unwrap key: "+kraErrText(opts))
	}
	if opts.KRAOAEP {
		s.count("unwrap:oaep")
	} else {
		s.count("unwrap:pkcs1v15")
	}
	var block cipher.Block
	switch algo {
	case "aes-128-cbc":
		if len(key) != 16 {
			return nil, newErr(3001, "EncodingError", "Unable to retrieve key: Invalid key length")
		}
		block, err = aes.NewCipher(key)
	default:
		if len(key) != 24 {
			return nil, newErr(3001, "EncodingError", "Unable to retrieve key: Invalid key length")
		}
		block, err = des.NewTripleDESCipher(key)
	}
	if err != nil {
		return nil, newErr(3001, "EncodingError", "Unable to retrieve key: "+err.Error())
	}
	s.count("wrap:" + algo)
	bs := block.BlockSize()
	iv := make([]byte, bs)
	_, _ = rand.Read(iv)
	pad := bs - len(v.Blob)%bs
	pt := append(append([]byte{}, v.Blob...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, pt)
	return map[string]any{
		"result":  map[string]any{"vault_data": b64(ct), "nonce": b64(iv)},
		"value":   name,
		"summary": fmt.Sprintf("Retrieved data from vault \"%s\"", name),
	}, nil
}

func kraErrText(opts Options) string {
	if opts.KRAOAEP {
		return "javax.crypto.BadPaddingException: OAEP decoding error"
	}
	return "javax.crypto.BadPaddingException: Decryption error"
}
