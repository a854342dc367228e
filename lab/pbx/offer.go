package pbx

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	pionsdp "github.com/pion/sdp/v3"
)

// errBadOffer is an SDP the simulator cannot use: answered 488.
var errBadOffer = errors.New("pbx: unusable sdp offer")

// offer is what the simulator reads of an SDP offer or answer (RFC 4566,
// RFC 3264): where the far end wants its audio and which payload type it
// gives telephone-event (RFC 4733 §7.1.1), 0 when it offers none.
type offer struct {
	rtp     netip.AddrPort
	eventPT uint8
}

// readOffer reads the first audio stream of an SDP body with pion/sdp
// directly: the lab PBX is a witness independent of the gateway's own
// SDP code (media/sdp).
func readOffer(body []byte) (offer, error) {
	var sd pionsdp.SessionDescription
	if err := sd.UnmarshalString(string(body)); err != nil {
		return offer{}, fmt.Errorf("%w: %w", errBadOffer, err)
	}
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media != "audio" || m.MediaName.Port.Value == 0 {
			continue
		}
		if !strings.HasPrefix(strings.Join(m.MediaName.Protos, "/"), "RTP/AVP") {
			return offer{}, fmt.Errorf("%w: transport %v", errBadOffer, m.MediaName.Protos)
		}
		c := sd.ConnectionInformation
		if m.ConnectionInformation != nil {
			c = m.ConnectionInformation // media level wins (RFC 4566 §5.7)
		}
		if c == nil || c.Address == nil {
			return offer{}, fmt.Errorf("%w: no c= line", errBadOffer)
		}
		ip, err := netip.ParseAddr(c.Address.Address)
		if err != nil {
			return offer{}, fmt.Errorf("%w: c= address: %w", errBadOffer, err)
		}
		port := m.MediaName.Port.Value
		if port < 0 || port > 65535 {
			return offer{}, fmt.Errorf("%w: port %d", errBadOffer, port)
		}
		o := offer{rtp: netip.AddrPortFrom(ip, uint16(port))}
		for _, a := range m.Attributes {
			if a.Key != "rtpmap" {
				continue
			}
			pt, enc, ok := strings.Cut(a.Value, " ")
			n, err := strconv.ParseUint(pt, 10, 8)
			if !ok || err != nil || n < 96 || n > 127 { // dynamic types only (RFC 3551 §3)
				continue
			}
			if strings.EqualFold(strings.TrimSpace(enc), "telephone-event/8000") && listed(m.MediaName.Formats, pt) {
				o.eventPT = uint8(n)
				break
			}
		}
		return o, nil
	}
	return offer{}, fmt.Errorf("%w: no audio stream", errBadOffer)
}

// listed reports whether the m= line lists the payload type pt.
func listed(formats []string, pt string) bool {
	for _, f := range formats {
		if f == pt {
			return true
		}
	}
	return false
}

// offerRemote reads the RTP address of an SDP offer or answer.
func offerRemote(body []byte) (netip.AddrPort, error) {
	o, err := readOffer(body)
	return o.rtp, err
}
