package freeipa

// Reasons of the FreeIPA provider's errors, beyond the shared ones in
// package secrets. Each becomes the reason label of
// hitron_exporter_freeipa_errors_total.
const (
	// ReasonKeytab: the keytab is missing, unreadable or not a keytab.
	ReasonKeytab = "keytab"
	// ReasonPrincipalNotInKeytab: the configured principal has no key in
	// the keytab.
	ReasonPrincipalNotInKeytab = "principal_not_in_keytab"
	// ReasonKDCUnreachable: no KDC of the realm answered.
	ReasonKDCUnreachable = "kdc_unreachable"
	// ReasonClockSkew: the KDC refused the login because the clocks differ
	// by more than the allowed skew (5 minutes by default).
	ReasonClockSkew = "clock_skew"
	// ReasonKerberos: the KDC rejected the login (unknown principal, stale
	// keytab key, disabled principal…).
	ReasonKerberos = "kerberos_auth_failed"
	// ReasonIPAUnreachable: the IPA server could not be reached, or answered
	// with a server error.
	ReasonIPAUnreachable = "ipa_unreachable"
	// ReasonIPATLS: the IPA server's certificate is not trusted by ca_file
	// or does not name the server.
	ReasonIPATLS = "ipa_tls"
	// ReasonIPAAuth: the IPA server refused the Kerberos login (HTTP 401).
	ReasonIPAAuth = "ipa_auth_failed"
	// ReasonVaultNotFound: FreeIPA answered 4001 "vault not found": the
	// vault does not exist in that owner's container, or the exporter's
	// principal is neither a member nor an owner of it (FreeIPA hides vaults
	// the caller may not read, so the two look the same).
	ReasonVaultNotFound = "vault_not_found"
	// ReasonNotMember: FreeIPA refused access explicitly (2100 ACIError).
	ReasonNotMember = "not_member"
	// ReasonVaultEmpty: the vault exists but nothing was archived in it.
	ReasonVaultEmpty = "vault_empty"
	// ReasonKRAUnavailable: FreeIPA has no KRA (vault service) enabled
	// (3000).
	ReasonKRAUnavailable = "kra_unavailable"
	// ReasonWrongVaultType: the vault is asymmetric, or symmetric without a
	// vault_password_file.
	ReasonWrongVaultType = "wrong_vault_type"
	// ReasonVaultPassword: the symmetric vault's password is wrong.
	ReasonVaultPassword = "vault_password"
	// ReasonIPA: any other error answer from FreeIPA.
	ReasonIPA = "ipa_error"
)
