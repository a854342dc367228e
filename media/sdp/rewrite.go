package sdp

import (
	"net/netip"
	"slices"

	"github.com/pion/sdp/v3"
)

// transportAttrs describe the far end's transport, which the relay ends:
// they must not reach the other side. (ICE, RFC 8839; rtcp, RFC 3605;
// rtcp-mux, RFC 5761: the relay answers on RTP port + 1.)
var transportAttrs = []string{
	"candidate", "remote-candidates", "end-of-candidates", "ice-ufrag", "ice-pwd",
	"ice-options", "ice-lite", "ice-mismatch", "rtcp", "rtcp-mux", "rtcp-rsize", "group", "mid",
}

// Rewrite makes sd point at the relay: the session c= line and the audio
// stream's port become local (the relay side's LocalAddr, with the address
// the far end can reach), the o= line comes from origin (nil keeps the
// username, id and version), and the far end's transport attributes go.
// Direction attributes, codecs, ptime and a=crypto stay as they are, except
// that a c=0.0.0.0 hold (RFC 2543) becomes sendonly, or inactive when the
// stream was recvonly or inactive (RFC 3264 §8.4).
//
// Streams other than the audio one get port 0: the relay anchors one audio
// stream, and RFC 3264 §6 and §8.2 keep the m= lines in place with port 0.
func Rewrite(sd *sdp.SessionDescription, local netip.AddrPort, origin *Origin) error {
	idx, err := audioIndex(sd)
	if err != nil {
		return err
	}
	addrType := "IP4"
	if local.Addr().Is6() && !local.Addr().Is4In6() {
		addrType = "IP6"
	}
	addr := local.Addr().Unmap().String()
	audio := sd.MediaDescriptions[idx]
	if a, err := connAddr(sd, audio); err == nil && a.IsUnspecified() {
		holdByDirection(sd, audio)
	}
	sd.ConnectionInformation = &sdp.ConnectionInformation{
		NetworkType: "IN", AddressType: addrType, Address: &sdp.Address{Address: addr},
	}
	sd.Attributes = deleteAttrs(sd.Attributes, transportAttrs)
	for i, md := range sd.MediaDescriptions {
		md.ConnectionInformation = nil
		md.MediaName.Port.Range = nil
		if i != idx {
			md.MediaName.Port.Value = 0
			continue
		}
		md.MediaName.Port.Value = int(local.Port())
		md.Attributes = deleteAttrs(md.Attributes, transportAttrs)
	}
	if origin == nil {
		sd.Origin.NetworkType, sd.Origin.AddressType, sd.Origin.UnicastAddress = "IN", addrType, addr
		return nil
	}
	return origin.apply(sd, addrType, addr)
}

// holdByDirection turns the c=0.0.0.0 hold of RFC 2543 into the direction
// attribute RFC 3264 §8.4 uses (sendrecv → sendonly, recvonly → inactive),
// since Rewrite puts the relay's address in c=.
func holdByDirection(sd *sdp.SessionDescription, md *sdp.MediaDescription) {
	d := sdp.DirectionSendOnly
	if cur := direction(sd, md); cur == sdp.DirectionRecvOnly || cur == sdp.DirectionInactive {
		d = sdp.DirectionInactive
	}
	md.Attributes = slices.DeleteFunc(md.Attributes, func(a sdp.Attribute) bool {
		_, err := sdp.NewDirection(a.Key)
		return err == nil
	})
	md.Attributes = append(md.Attributes, sdp.NewPropertyAttribute(d.String()))
}

func deleteAttrs(attrs []sdp.Attribute, keys []string) []sdp.Attribute {
	return slices.DeleteFunc(attrs, func(a sdp.Attribute) bool { return slices.Contains(keys, a.Key) })
}
