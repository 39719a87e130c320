package ipaemu

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"
)

// acceptCompleted is the SPNEGO NegTokenResp "accept-completed, mech krb5"
// that MIT's acceptor returns to a SPNEGO token without mutual auth.
const acceptCompleted = "oRQwEqADCgEAoQsGCSqGSIb3EgECAg=="

// krb5MechOID is the DER of the Kerberos 5 GSS mechanism OID.
var krb5MechOID = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}

// acceptResult is a verified client: who it is, until when its ticket is
// valid, and the WWW-Authenticate reply token.
type acceptResult struct {
	principal string
	endTime   time.Time
	reply     string
}

// accept verifies an Authorization: Negotiate token as mod_auth_gssapi
// would: a SPNEGO NegTokenInit (Go clients, curl) or a raw krb5 AP-REQ
// (the Python ipa CLI), against the HTTP service keytab.
func (s *Server) accept(header string) (*acceptResult, error) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "negotiate") {
		return nil, errors.New("not a Negotiate header")
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(tok))
	if err != nil {
		return nil, fmt.Errorf("token is not base64: %w", err)
	}
	var (
		apReq    messages.APReq
		isSPNEGO bool
	)
	var st spnego.SPNEGOToken
	if err := st.Unmarshal(b); err == nil && st.Init {
		isSPNEGO = true
		var k spnego.KRB5Token
		if err := k.Unmarshal(st.NegTokenInit.MechTokenBytes); err != nil {
			return nil, fmt.Errorf("SPNEGO mech token: %w", err)
		}
		if !k.IsAPReq() {
			return nil, errors.New("SPNEGO mech token is not an AP-REQ")
		}
		apReq = k.APReq
	} else {
		var k spnego.KRB5Token
		if err := k.Unmarshal(b); err != nil {
			return nil, fmt.Errorf("neither SPNEGO nor krb5 token: %w", err)
		}
		if !k.IsAPReq() {
			return nil, errors.New("krb5 token is not an AP-REQ")
		}
		apReq = k.APReq
	}
	s.mu.Lock()
	kt := s.keytab
	s.mu.Unlock()
	if ok, err := apReq.Verify(kt, 5*time.Minute, types.HostAddress{}, nil); !ok || err != nil {
		return nil, fmt.Errorf("AP-REQ does not verify: %v", err)
	}
	if want := "HTTP/" + s.FQDN; apReq.Ticket.SName.PrincipalNameString() != want {
		return nil, fmt.Errorf("ticket is for %s, not %s", apReq.Ticket.SName.PrincipalNameString(), want)
	}
	replayKey := fmt.Sprintf("%s|%d|%d", apReq.Authenticator.CName.PrincipalNameString(), apReq.Authenticator.CTime.UnixNano(), apReq.Authenticator.Cusec)
	s.mu.Lock()
	replay := s.replay[replayKey]
	s.replay[replayKey] = true
	s.mu.Unlock()
	if replay {
		return nil, errors.New("replayed authenticator")
	}
	res := &acceptResult{
		principal: apReq.Ticket.DecryptedEncPart.CName.PrincipalNameString() + "@" + apReq.Ticket.DecryptedEncPart.CRealm,
		endTime:   apReq.Ticket.DecryptedEncPart.EndTime,
		reply:     acceptCompleted,
	}
	mutual := types.IsFlagSet(&apReq.APOptions, flags.APOptionMutualRequired)
	if mutual {
		rep, err := apRep(&apReq)
		if err != nil {
			return nil, err
		}
		if isSPNEGO {
			resp := spnego.NegTokenResp{
				NegState:      asn1.Enumerated(spnego.NegStateAcceptCompleted),
				SupportedMech: gssapi.OIDKRB5.OID(),
				ResponseToken: rep,
			}
			rb, err := resp.Marshal()
			if err != nil {
				return nil, err
			}
			res.reply = base64.StdEncoding.EncodeToString(rb)
		} else {
			res.reply = base64.StdEncoding.EncodeToString(rep)
		}
	}
	return res, nil
}

// apRep builds the GSS-framed krb5 AP-REP that a mutual-auth initiator (the
// Python ipa CLI) requires (reference §6.4).
func apRep(req *messages.APReq) ([]byte, error) {
	var seq [4]byte
	if _, err := rand.Read(seq[:]); err != nil {
		return nil, err
	}
	part := messages.EncAPRepPart{
		CTime:          req.Authenticator.CTime,
		Cusec:          req.Authenticator.Cusec,
		SequenceNumber: int64(binary.BigEndian.Uint32(seq[:]) & 0x3fffffff),
	}
	pb, err := asn1.Marshal(part)
	if err != nil {
		return nil, fmt.Errorf("marshal EncAPRepPart: %w", err)
	}
	pb = asn1tools.AddASNAppTag(pb, asnAppTag.EncAPRepPart)
	enc, err := crypto.GetEncryptedData(pb, req.Ticket.DecryptedEncPart.Key, keyusage.AP_REP_ENCPART, 0)
	if err != nil {
		return nil, fmt.Errorf("encrypt EncAPRepPart: %w", err)
	}
	rep := messages.APRep{PVNO: 5, MsgType: msgtype.KRB_AP_REP, EncPart: enc}
	rb, err := asn1.Marshal(rep)
	if err != nil {
		return nil, fmt.Errorf("marshal AP-REP: %w", err)
	}
	rb = asn1tools.AddASNAppTag(rb, asnAppTag.APREP)
	inner := append(append(append([]byte{}, krb5MechOID...), 0x02, 0x00), rb...)
	out := append([]byte{0x60}, asn1tools.MarshalLengthBytes(len(inner))...)
	return append(out, inner...), nil
}
