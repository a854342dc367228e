package sipguard

import (
	"net"

	"github.com/pion/stun/v4"
)

// answerSTUN answers a STUN Binding request on the SIP port with the
// source address it came from (RFC 5389 §7.3.1, XOR-MAPPED-ADDRESS), which
// is what an RFC 5626 §4.4.2 keepalive expects. It reports whether d was a
// Binding request it answered.
func (c *packetConn) answerSTUN(d []byte, addr net.Addr) bool {
	ua, ok := addr.(*net.UDPAddr)
	if !ok || !stun.IsMessage(d) {
		return false
	}
	req := &stun.Message{Raw: append([]byte(nil), d...)}
	if err := req.Decode(); err != nil || req.Type != stun.BindingRequest {
		return false
	}
	res, err := stun.Build(
		stun.NewTransactionIDSetter(req.TransactionID),
		stun.BindingSuccess,
		&stun.XORMappedAddress{IP: ua.IP, Port: ua.Port},
		stun.Fingerprint,
	)
	if err != nil {
		return false
	}
	_, err = c.PacketConn.WriteTo(res.Raw, addr)
	return err == nil
}
