package freeipa

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Session-key wrapping algorithms of vault_retrieve_internal.
const (
	algoAES  = "aes-128-cbc"
	algo3DES = "des-ede3-cbc"
)

// kraConfig is what vaultconfig_show tells about the KRA.
type kraConfig struct {
	transport *rsa.PublicKey
	// defaultAlgo is wrapping_default_algorithm; empty on servers before
	// 4.9.9, which only know 3DES.
	defaultAlgo string
	supported   []string
}

// chooseAlgo picks the wrapping algorithm as the ipa CLI does (reference
// §4.4): 3DES without a server default, else the default when supported,
// else the first supported one we know.
func chooseAlgo(k *kraConfig) (string, error) {
	if k.defaultAlgo == "" {
		return algo3DES, nil
	}
	if known(k.defaultAlgo) {
		return k.defaultAlgo, nil
	}
	for _, a := range k.supported {
		if known(a) {
			return a, nil
		}
	}
	return "", fmt.Errorf("the server offers no wrapping algorithm this client supports (default %q, supported %q)", k.defaultAlgo, k.supported)
}

func known(algo string) bool { return algo == algoAES || algo == algo3DES }

// newSessionKey returns fresh random key bytes for algo.
func newSessionKey(algo string) ([]byte, error) {
	n := 16
	if algo == algo3DES {
		n = 24
	}
	k := make([]byte, n)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("generate session key: %w", err)
	}
	return k, nil
}

// wrapSessionKey encrypts key for the KRA transport key: PKCS#1 v1.5 by
// default, RSA-OAEP with SHA-256 when oaep is set.
func wrapSessionKey(pub *rsa.PublicKey, key []byte, oaep bool) ([]byte, error) {
	if !oaep {
		// FreeIPA's KRA expects PKCS#1 v1.5 unless keyWrap.useOAEP is set.
		//lint:ignore SA1019 the FreeIPA protocol requires PKCS#1 v1.5 by default
		w, err := rsa.EncryptPKCS1v15(rand.Reader, pub, key)
		if err == nil {
			return w, nil
		}
		// A FIPS build cannot do PKCS#1 v1.5 encryption: use OAEP, as
		// FreeIPA 4.12 clients do.
	}
	return rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, key, nil)
}

// decryptTransport undoes the KRA's encryption of the vault data: CBC with
// the session key and nonce as IV, then PKCS#7 padding.
func decryptTransport(algo string, key, iv, data []byte) ([]byte, error) {
	var (
		block cipher.Block
		err   error
	)
	switch algo {
	case algoAES:
		block, err = aes.NewCipher(key)
	case algo3DES:
		block, err = des.NewTripleDESCipher(key)
	default:
		return nil, fmt.Errorf("unknown algorithm %q", algo)
	}
	if err != nil {
		return nil, err
	}
	bs := block.BlockSize()
	if len(iv) != bs {
		return nil, fmt.Errorf("nonce is %d bytes, want %d", len(iv), bs)
	}
	if len(data) == 0 || len(data)%bs != 0 {
		return nil, fmt.Errorf("vault data is %d bytes, not a multiple of the %d-byte block", len(data), bs)
	}
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, data)
	return pkcs7Unpad(plain, bs)
}

func pkcs7Unpad(b []byte, bs int) ([]byte, error) {
	if len(b) == 0 || len(b)%bs != 0 {
		return nil, errors.New("bad padding")
	}
	n := int(b[len(b)-1])
	if n == 0 || n > bs || n > len(b) {
		return nil, errors.New("bad padding")
	}
	for _, c := range b[len(b)-n:] {
		if int(c) != n {
			return nil, errors.New("bad padding")
		}
	}
	return b[:len(b)-n], nil
}

// vaultPayload decodes the archived JSON {"data": "<base64>"}.
func vaultPayload(plain []byte) ([]byte, error) {
	var v struct {
		Data         *string `json:"data"`
		EncryptedKey *string `json:"encrypted_key"`
	}
	if err := json.Unmarshal(plain, &v); err != nil || v.Data == nil {
		return nil, errors.New("decrypted vault data is not the JSON {\"data\": …} the ipa client archives")
	}
	if v.EncryptedKey != nil {
		return nil, errWrongType("asymmetric")
	}
	data, err := base64.StdEncoding.DecodeString(*v.Data)
	if err != nil {
		return nil, errors.New("vault data field is not base64")
	}
	return data, nil
}

type errWrongType string

func (e errWrongType) Error() string { return "the vault is " + string(e) }

// symmetricKey derives a symmetric vault's key from its password and salt
// as the ipa client does: PBKDF2-HMAC-SHA256, 100000 rounds, 32 bytes.
func symmetricKey(password string, salt []byte) ([]byte, error) {
	return pbkdf2.Key(sha256.New, password, salt, 100000, 32)
}

// errFernetAuth means the Fernet token's HMAC did not verify: wrong key.
var errFernetAuth = errors.New("fernet token signature does not verify")

// fernetDecrypt verifies and decrypts a Fernet token (URL-safe base64 text)
// with a 32-byte key: the first half signs (HMAC-SHA256), the second
// encrypts (AES-128-CBC). The token's timestamp is not checked.
func fernetDecrypt(key, token []byte) ([]byte, error) {
	if len(key) != 32 {
		return nil, errors.New("fernet key must be 32 bytes")
	}
	tok := string(bytes.TrimSpace(token))
	raw, err := base64.URLEncoding.DecodeString(tok)
	if err != nil {
		if raw, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(tok, "=")); err != nil {
			return nil, errors.New("fernet token is not base64")
		}
	}
	const hdr, macLen = 1 + 8 + 16, 32
	if len(raw) < hdr+aes.BlockSize+macLen || raw[0] != 0x80 {
		return nil, errors.New("not a fernet token")
	}
	body, mac := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	h := hmac.New(sha256.New, key[:16])
	h.Write(body)
	if !hmac.Equal(h.Sum(nil), mac) {
		return nil, errFernetAuth
	}
	block, err := aes.NewCipher(key[16:])
	if err != nil {
		return nil, err
	}
	iv, ct := body[9:25], body[25:]
	if len(ct)%aes.BlockSize != 0 {
		return nil, errors.New("fernet ciphertext is not block aligned")
	}
	plain := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ct)
	return pkcs7Unpad(plain, aes.BlockSize)
}

// parseKRAConfig checks vaultconfig_show's answer: a DER X.509 transport
// certificate with an RSA key, and the optional algorithm keys.
func parseKRAConfig(certDER []byte, def, supported []string) (*kraConfig, error) {
	if len(certDER) == 0 {
		return nil, errors.New("no transport certificate")
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("transport certificate: %w", err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("transport certificate has no RSA key")
	}
	kc := &kraConfig{transport: pub, supported: supported}
	if len(def) > 0 {
		kc.defaultAlgo = def[0]
	}
	return kc, nil
}
