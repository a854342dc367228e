package b2bua

import (
	"net/netip"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/media/relay"
	"github.com/switchboard-gw/switchboard/media/sdp"
)

// remoteOf is what the audio stream st of an SDP says about a side's far
// end, with the source IP of the SIP message m that carried the SDP: the
// relay lets media from that IP latch besides the SDP's own (a phone behind
// NAT writes its private address in the SDP and sends media from the public
// one its SIP comes from), and from no other (relay.Latching). m may be nil
// (no signalling address: the SDP's IP only).
func remoteOf(st sdp.Stream, m sip.Message) relay.Remote {
	r := st.Remote()
	if m != nil {
		if ap, err := netip.ParseAddrPort(m.Source()); err == nil {
			r.Signalling = ap.Addr().Unmap()
		}
	}
	return r
}
