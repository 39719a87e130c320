package vaultenv

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Kubernetes is the kubernetes auth method of a Server, configured with a
// locally generated RS256 signing key (pem_keys) so that Vault verifies
// service-account JWTs itself.
//
// Vault's kubernetes auth plugin (v0.23) also asks the cluster's TokenReview
// API about every JWT at kubernetes_host, even with pem_keys set. There is no
// cluster here, so Kubernetes runs a minimal TokenReview endpoint on
// 127.0.0.1 over TLS (its certificate is kubernetes_ca_cert); that endpoint
// verifies the JWT's signature and expiry with the same key and answers like
// the API server. Everything else is the real Vault server.
type Kubernetes struct {
	// Mount is the auth mount, such as "kubernetes".
	Mount string
	// Issuer is the iss claim of minted JWTs.
	Issuer string

	key    *rsa.PrivateKey
	api    *httptest.Server
	mu     sync.Mutex
	denied map[string]bool
}

// ServiceAccount names a Kubernetes service account.
type ServiceAccount struct {
	Namespace, Name, UID string
}

// EnableKubernetesAuth enables and configures the kubernetes auth method at
// mount (default "kubernetes").
func (s *Server) EnableKubernetesAuth(t testing.TB, mount string) *Kubernetes {
	t.Helper()
	if mount == "" {
		mount = "kubernetes"
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("vaultenv: rsa key: %v", err)
	}
	k := &Kubernetes{Mount: mount, Issuer: "https://kubernetes.default.svc.cluster.local", key: key, denied: map[string]bool{}}
	k.api = httptest.NewTLSServer(http.HandlerFunc(k.tokenReview))
	t.Cleanup(k.api.Close)

	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatalf("vaultenv: marshal public key: %v", err)
	}
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.api.Certificate().Raw}))

	s.EnableAuth(t, mount, "kubernetes")
	_, err = s.Client(t).Logical().WriteWithContext(ctx(t), "auth/"+mount+"/config", map[string]any{
		"kubernetes_host":        k.api.URL,
		"kubernetes_ca_cert":     caPEM,
		"pem_keys":               []string{pubPEM},
		"disable_local_ca_jwt":   true,
		"issuer":                 k.Issuer,
		"disable_iss_validation": false,
	})
	if err != nil {
		t.Fatalf("vaultenv: configure kubernetes auth: %v", err)
	}
	return k
}

// CreateRole creates a kubernetes auth role bound to sa's name and namespace.
func (k *Kubernetes) CreateRole(t testing.TB, s *Server, role string, sa ServiceAccount, policies []string, ttl string) {
	t.Helper()
	data := map[string]any{
		"bound_service_account_names":      sa.Name,
		"bound_service_account_namespaces": sa.Namespace,
		"token_policies":                   strings.Join(policies, ","),
	}
	if ttl != "" {
		data["token_ttl"] = ttl
	}
	if _, err := s.Client(t).Logical().WriteWithContext(ctx(t), "auth/"+k.Mount+"/role/"+role, data); err != nil {
		t.Fatalf("vaultenv: write kubernetes role %s: %v", role, err)
	}
}

// MintJWT returns a projected service-account token for sa signed with the
// configured key, valid for ttl.
func (k *Kubernetes) MintJWT(t testing.TB, sa ServiceAccount, ttl time.Duration) string {
	t.Helper()
	return k.sign(t, sa, ttl, k.key)
}

// MintForeignJWT returns a well-formed token for sa signed by a different key
// that Vault must reject.
func (k *Kubernetes) MintForeignJWT(t testing.TB, sa ServiceAccount) string {
	t.Helper()
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("vaultenv: rsa key: %v", err)
	}
	return k.sign(t, sa, time.Hour, other)
}

// Deny makes the TokenReview endpoint report sa's tokens as invalid, as the
// API server does once a service account is deleted.
func (k *Kubernetes) Deny(sa ServiceAccount) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.denied[sa.Namespace+"/"+sa.Name] = true
}

func (k *Kubernetes) sign(t testing.TB, sa ServiceAccount, ttl time.Duration, key *rsa.PrivateKey) string {
	t.Helper()
	now := time.Now()
	claims := map[string]any{
		"iss": k.Issuer,
		"sub": "system:serviceaccount:" + sa.Namespace + ":" + sa.Name,
		"aud": []string{"https://kubernetes.default.svc.cluster.local"},
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(ttl).Unix(),
		"kubernetes.io": map[string]any{
			"namespace":      sa.Namespace,
			"serviceaccount": map[string]any{"name": sa.Name, "uid": sa.UID},
		},
	}
	hdr, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "vaultenv"})
	body, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("vaultenv: %v", err)
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(hdr) + "." + enc.EncodeToString(body)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatalf("vaultenv: sign jwt: %v", err)
	}
	return signing + "." + enc.EncodeToString(sig)
}

// verify checks a JWT's RS256 signature and expiry and returns its claims.
func (k *Kubernetes) verify(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("malformed token")
	}
	enc := base64.RawURLEncoding
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&k.key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	body, err := enc.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(body, &claims); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	if exp, ok := claims["exp"].(float64); !ok || time.Unix(int64(exp), 0).Before(time.Now()) {
		return nil, errors.New("token expired")
	}
	return claims, nil
}

// tokenReview answers POST /apis/authentication.k8s.io/v1/tokenreviews.
func (k *Kubernetes) tokenReview(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/apis/authentication.k8s.io/v1/tokenreviews" {
		http.NotFound(w, r)
		return
	}
	var req struct {
		Spec struct {
			Token     string   `json:"token"`
			Audiences []string `json:"audiences"`
		} `json:"spec"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	// The bearer must itself be a valid service-account token.
	bearer := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if _, err := k.verify(bearer); err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Unauthorized","code":401}`))
		return
	}
	status := map[string]any{"authenticated": false}
	if claims, err := k.verify(req.Spec.Token); err == nil {
		kube, _ := claims["kubernetes.io"].(map[string]any)
		ns, _ := kube["namespace"].(string)
		sa, _ := kube["serviceaccount"].(map[string]any)
		name, _ := sa["name"].(string)
		uid, _ := sa["uid"].(string)
		k.mu.Lock()
		denied := k.denied[ns+"/"+name]
		k.mu.Unlock()
		if !denied {
			status = map[string]any{
				"authenticated": true,
				"user": map[string]any{
					"username": "system:serviceaccount:" + ns + ":" + name,
					"uid":      uid,
				},
				"audiences": req.Spec.Audiences,
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"kind":       "TokenReview",
		"apiVersion": "authentication.k8s.io/v1",
		"status":     status,
	})
}
