package ipaemu

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// pki is the emulator's test CA, its TLS leaf and the KRA transport key.
type pki struct {
	caPEM        []byte
	leaf         tls.Certificate
	transportDER []byte
	transportKey *rsa.PrivateKey
	otherCAPEM   []byte // a CA that did not sign anything the server uses
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

func newPKI(fqdn string) (*pki, error) {
	now := time.Now()
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"EXAMPLE.TEST"}, CommonName: "Certificate Authority"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("CA: %w", err)
	}
	ca, _ := x509.ParseCertificate(caDER)

	leafKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{"EXAMPLE.TEST"}, CommonName: fqdn},
		DNSNames:     []string{fqdn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("leaf: %w", err)
	}

	// Dogtag's "KRA Transport Certificate": RSA-2048, X.509 v3 (the ipa
	// CLI refuses v1), signed by the IPA CA.
	trKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	trTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{"EXAMPLE.TEST"}, CommonName: "KRA Transport Certificate"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment,
	}
	trDER, err := x509.CreateCertificate(rand.Reader, trTmpl, ca, &trKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}

	// A second, unrelated CA, for "server certificate not trusted" tests.
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	otherTmpl := *caTmpl
	otherTmpl.SerialNumber = serial()
	otherTmpl.Subject.CommonName = "Unrelated CA"
	otherDER, err := x509.CreateCertificate(rand.Reader, &otherTmpl, &otherTmpl, &otherKey.PublicKey, otherKey)
	if err != nil {
		return nil, err
	}

	return &pki{
		caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		leaf: tls.Certificate{
			Certificate: [][]byte{leafDER, caDER},
			PrivateKey:  leafKey,
		},
		transportDER: trDER,
		transportKey: trKey,
		otherCAPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: otherDER}),
	}, nil
}
