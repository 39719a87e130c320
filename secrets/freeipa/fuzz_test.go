package freeipa

import (
	"encoding/json"
	"testing"
)

// FuzzRPCReplies feeds arbitrary JSON-RPC result payloads to every decoder
// the client applies to IPA answers: vault_show, vaultconfig_show (with the
// transport certificate parse), the vault payload, and the decryption and
// unpadding of vault_retrieve_internal. Nothing may panic.
func FuzzRPCReplies(f *testing.F) {
	f.Add([]byte(`{"ipavaulttype":["standard"],"ipavaultsalt":[{"__base64__":"c2FsdA=="}]}`))
	f.Add([]byte(`{"transport_cert":{"__base64__":"MIIB"},"wrapping_default_algorithm":"aes-128-cbc","wrapping_supported_algorithms":["aes-128-cbc","des-ede3-cbc"]}`))
	f.Add([]byte(`{"data":"aHVudGVyMg=="}`))
	f.Add([]byte(`{"data":"x","encrypted_key":"y"}`))
	f.Add([]byte(`{"vault_data":{"__base64__":"AAAA"},"nonce":{"__base64__":"AAAAAAAAAAAAAAAAAAAAAA=="}}`))
	f.Add([]byte(`{"wrapping_supported_algorithms":5}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var info vaultInfo
		_ = json.Unmarshal(b, &info)
		var kc struct {
			Cert      ipaBytes `json:"transport_cert"`
			Default   strList  `json:"wrapping_default_algorithm"`
			Supported strList  `json:"wrapping_supported_algorithms"`
		}
		if json.Unmarshal(b, &kc) == nil {
			_, _ = parseKRAConfig(kc.Cert, kc.Default, kc.Supported)
		}
		_, _ = vaultPayload(b)
		for _, algo := range []string{algoAES, algo3DES} {
			key := make([]byte, 24)
			iv := make([]byte, 16)
			_, _ = decryptTransport(algo, key[:keyLen(algo)], iv, b)
		}
		_, _ = pkcs7Unpad(b, 16)
		_, _ = fernetDecrypt(make([]byte, 32), b)
	})
}

func keyLen(algo string) int {
	if algo == algo3DES {
		return 24
	}
	return 16
}
