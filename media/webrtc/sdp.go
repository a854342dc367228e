package webrtc

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/ice/v4"
	psdp "github.com/pion/sdp/v3"

	"github.com/switchboard-gw/switchboard/media/sdp"
)

// maxBody bounds a browser's SDP (Chrome's audio-only offers are ~2 KB).
const maxBody = 64 << 10

// maxCandidates bounds the a=candidate lines read from one offer.
const maxCandidates = 64

// IsWebRTC reports whether body is a WebRTC SDP: an m= line with the
// UDP/TLS/RTP/SAVPF profile (RFC 8829 §5.1.2), or DTLS and ICE attributes
// together (a=fingerprint and a=ice-ufrag).
func IsWebRTC(body []byte) bool {
	if bytes.Contains(body, []byte("UDP/TLS/RTP/SAVP")) {
		return true
	}
	return bytes.Contains(body, []byte("a=fingerprint:")) && bytes.Contains(body, []byte("a=ice-ufrag:"))
}

// browserSDP is what a browser's offer or answer says that the leg needs.
type browserSDP struct {
	sd        *psdp.SessionDescription
	codecs    []sdp.Codec // the audio m= line's formats, in order
	direction psdp.Direction
	creds     string // ice-ufrag, ice-pwd and fingerprint: what a renegotiation must keep
	ice       string // ice-ufrag and ice-pwd: new ones are an ICE restart (RFC 8839 §4.4.1.1.1)
	fp        string // the fingerprint: a new one is a new DTLS association
	setup     string // a=setup (RFC 8842 §5)
}

// parseBrowser parses and checks a browser's SDP: one audio stream on
// UDP/TLS/RTP/SAVPF with a DTLS fingerprint (RFC 8122 §5), ICE credentials
// (RFC 8839 §5.4) and candidates that parse (RFC 8839 §5.1).
func parseBrowser(body []byte) (b browserSDP, err error) {
	if len(body) > maxBody {
		return b, fmt.Errorf("%w: %d bytes", sdp.ErrMalformed, len(body))
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", sdp.ErrMalformed, r)
		}
	}()
	sd := &psdp.SessionDescription{}
	if err := sd.Unmarshal(body); err != nil {
		return b, fmt.Errorf("%w: %v", sdp.ErrMalformed, err)
	}
	var md *psdp.MediaDescription
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media == "audio" && m.MediaName.Port.Value != 0 {
			md = m
			break
		}
	}
	if md == nil {
		return b, sdp.ErrNoAudio
	}
	if p := strings.Join(md.MediaName.Protos, "/"); p != "UDP/TLS/RTP/SAVPF" && p != "UDP/TLS/RTP/SAVP" {
		return b, fmt.Errorf("%w: m=audio %s", ErrNotWebRTC, p)
	}
	if !hasAttr(sd, md, "fingerprint") {
		return b, ErrNoFingerprint
	}
	ufrag, _ := attr(sd, md, "ice-ufrag")
	pwd, _ := attr(sd, md, "ice-pwd")
	// RFC 8839 §5.4: ufrag 4–256 characters, pwd 22–256.
	if len(ufrag) < 4 || len(ufrag) > 256 || len(pwd) < 22 || len(pwd) > 256 {
		return b, ErrNoICE
	}
	n := 0
	for _, a := range md.Attributes {
		if a.Key != "candidate" {
			continue
		}
		if n++; n > maxCandidates {
			return b, fmt.Errorf("%w: more than %d", ErrBadCandidate, maxCandidates)
		}
		if err := checkCandidate(a.Value); err != nil {
			return b, err
		}
	}
	fp, _ := attr(sd, md, "fingerprint")
	b.ice, b.fp = ufrag+" "+pwd, strings.ToLower(strings.TrimSpace(fp))
	b.creds = b.ice + " " + b.fp
	b.setup, _ = attr(sd, md, "setup")
	b.sd = sd
	b.codecs, err = formats(md)
	if err != nil {
		return b, err
	}
	b.direction = psdp.DirectionSendRecv
	for _, a := range md.Attributes {
		if d, err := psdp.NewDirection(a.Key); err == nil && a.Value == "" {
			b.direction = d
		}
	}
	return b, nil
}

// checkCandidate checks one a=candidate value: it parses, and its address
// is an mDNS name (RFC 8839 §5.1, browsers hide host addresses) or a unicast
// IP with a port.
func checkCandidate(v string) error {
	c, err := ice.UnmarshalCandidate(v)
	if err != nil {
		return fmt.Errorf("%w: %q: %v", ErrBadCandidate, truncate(v), err)
	}
	addr := c.Address()
	if strings.HasSuffix(addr, ".local") {
		return nil
	}
	ip, err := netip.ParseAddr(addr)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %q: address %q", ErrBadCandidate, truncate(v), addr)
	case ip.IsUnspecified() || ip.IsMulticast() || c.Port() == 0:
		return fmt.Errorf("%w: %q: address %s port %d", ErrBadCandidate, truncate(v), ip, c.Port())
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func hasAttr(sd *psdp.SessionDescription, md *psdp.MediaDescription, key string) bool {
	_, ok := attr(sd, md, key)
	return ok
}

// attr is a media-level attribute, else the session-level one.
func attr(sd *psdp.SessionDescription, md *psdp.MediaDescription, key string) (string, bool) {
	if v, ok := md.Attribute(key); ok {
		return v, true
	}
	return sd.Attribute(key)
}

// formats reads an m= line's payload formats with their a=rtpmap and
// a=fmtp lines (RFC 4566 §6; RFC 3551 §6 for static types without rtpmap).
func formats(md *psdp.MediaDescription) ([]sdp.Codec, error) {
	maps := map[int]sdp.Codec{}
	fmtps := map[int]string{}
	for _, a := range md.Attributes {
		switch a.Key {
		case "rtpmap":
			pt, enc, _ := strings.Cut(a.Value, " ")
			n, err := strconv.Atoi(pt)
			parts := strings.Split(strings.TrimSpace(enc), "/")
			if err != nil || n < 0 || n > 127 || len(parts) < 2 || len(parts) > 3 {
				return nil, fmt.Errorf("%w: a=rtpmap:%s", sdp.ErrMalformed, truncate(a.Value))
			}
			rate, err := strconv.ParseUint(parts[1], 10, 32)
			if err != nil || rate == 0 {
				return nil, fmt.Errorf("%w: a=rtpmap:%s", sdp.ErrMalformed, truncate(a.Value))
			}
			c := sdp.Codec{PayloadType: uint8(n), Name: parts[0], ClockRate: uint32(rate)}
			if len(parts) == 3 {
				ch, err := strconv.Atoi(parts[2])
				if err != nil || ch < 1 || ch > 8 {
					return nil, fmt.Errorf("%w: a=rtpmap:%s", sdp.ErrMalformed, truncate(a.Value))
				}
				c.Channels = ch
			}
			maps[n] = c
		case "fmtp":
			pt, p, _ := strings.Cut(a.Value, " ")
			if n, err := strconv.Atoi(pt); err == nil {
				fmtps[n] = p
			}
		}
	}
	var out []sdp.Codec
	for _, f := range md.MediaName.Formats {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || n > 127 {
			return nil, fmt.Errorf("%w: payload type %q", sdp.ErrMalformed, truncate(f))
		}
		c, ok := maps[n]
		if !ok {
			switch n { // RFC 3551 §6
			case 0:
				c = sdp.Codec{PayloadType: 0, Name: "PCMU", ClockRate: 8000}
			case 8:
				c = sdp.Codec{PayloadType: 8, Name: "PCMA", ClockRate: 8000}
			default:
				continue // a static type we do not bridge
			}
		}
		c.Fmtp = fmtps[n]
		out = append(out, c)
	}
	return out, nil
}

// plainSDP is the SDP of a leg's RTP face: the plain phone the relay sees,
// at local, with codecs and their payload types, RTCP on the RTP port
// (RFC 3605 a=rtcp: the leg reads one socket).
func plainSDP(codecs []sdp.Codec, local netip.AddrPort, dir psdp.Direction, version uint64) []byte {
	ipv := "IP4"
	if local.Addr().Is6() && !local.Addr().Is4In6() {
		ipv = "IP6"
	}
	ip := local.Addr().Unmap().String()
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=switchboard-webrtc 1 %d IN %s %s\r\ns=-\r\nc=IN %s %s\r\nt=0 0\r\nm=audio %d RTP/AVP", version, ipv, ip, ipv, ip, local.Port())
	for _, c := range codecs {
		fmt.Fprintf(&b, " %d", c.PayloadType)
	}
	b.WriteString("\r\n")
	for _, c := range codecs {
		fmt.Fprintf(&b, "a=rtpmap:%d %s\r\n", c.PayloadType, c.String())
		if c.Fmtp != "" {
			fmt.Fprintf(&b, "a=fmtp:%d %s\r\n", c.PayloadType, c.Fmtp)
		}
	}
	fmt.Fprintf(&b, "a=rtcp:%d\r\na=ptime:20\r\na=%s\r\n", local.Port(), dir)
	return []byte(b.String())
}
