package sdp

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// maxBody bounds the SDP accepted; a SIP body over UDP is smaller anyway.
const maxBody = 64 << 10

// Parse unmarshals body with pion/sdp and checks what the relay relies on:
// every stream with a non-zero port has an IP connection address (RFC 4566
// §5.7), ports are in range, RTP streams list payload types 0–127 and their
// a=rtpmap lines parse. Errors wrap ErrMalformed.
func Parse(body []byte) (sd *sdp.SessionDescription, err error) {
	if len(body) > maxBody {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(body))
	}
	if err := checkBytes(body); err != nil {
		return nil, err
	}
	defer func() {
		// pion/sdp is fuzzed upstream; this keeps a crash there from
		// reaching the B2BUA all the same.
		if r := recover(); r != nil {
			sd, err = nil, fmt.Errorf("%w: %v", ErrMalformed, r)
		}
	}()
	sd = &sdp.SessionDescription{}
	if err := sd.Unmarshal(body); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if sd.Version != 0 {
		return nil, fmt.Errorf("%w: v=%d", ErrMalformed, sd.Version)
	}
	if len(sd.MediaDescriptions) == 0 {
		return nil, fmt.Errorf("%w: no m= line", ErrMalformed)
	}
	for i, md := range sd.MediaDescriptions {
		if err := checkMedia(sd, md); err != nil {
			return nil, fmt.Errorf("m= line %d: %w", i+1, err)
		}
	}
	return sd, nil
}

// checkBytes refuses what no SDP line may hold (RFC 4566 §9, byte-string
// and text exclude NUL, CR and LF): a NUL, or a CR that does not end its
// line. pion/sdp would keep a bare CR inside a value and lose it when the
// description is written on to the other leg.
func checkBytes(body []byte) error {
	line := 1
	for i, b := range body {
		switch {
		case b == '\n':
			line++
		case b == 0:
			return fmt.Errorf("%w: NUL byte in line %d", ErrMalformed, line)
		case b == '\r' && (i+1 == len(body) || body[i+1] != '\n'):
			return fmt.Errorf("%w: bare CR in line %d", ErrMalformed, line)
		}
	}
	return nil
}

func checkMedia(sd *sdp.SessionDescription, md *sdp.MediaDescription) error {
	port := md.MediaName.Port.Value
	if port < 0 || port > 65535 {
		return fmt.Errorf("%w: port %d", ErrMalformed, port)
	}
	if len(md.MediaName.Formats) == 0 {
		return fmt.Errorf("%w: no formats", ErrMalformed)
	}
	if port == 0 {
		return nil // rejected or disabled stream: nothing more to check
	}
	if _, err := connAddr(sd, md); err != nil {
		return err
	}
	if !isRTP(md) {
		return nil
	}
	for _, f := range md.MediaName.Formats {
		if pt, err := strconv.ParseUint(f, 10, 7); err != nil || pt > 127 {
			return fmt.Errorf("%w: payload type %q", ErrMalformed, f)
		}
	}
	for _, a := range md.Attributes {
		if a.Key == "rtpmap" {
			if _, err := parseRtpmap(a.Value); err != nil {
				return err
			}
		}
	}
	return nil
}

// connAddr is the stream's connection address: media level, else session
// level (RFC 4566 §5.7). Only IN IP4 / IN IP6 with an IP literal is accepted.
func connAddr(sd *sdp.SessionDescription, md *sdp.MediaDescription) (netip.Addr, error) {
	c := md.ConnectionInformation
	if c == nil {
		c = sd.ConnectionInformation
	}
	if c == nil || c.Address == nil {
		return netip.Addr{}, fmt.Errorf("%w: no c= line", ErrMalformed)
	}
	if c.NetworkType != "IN" || (c.AddressType != "IP4" && c.AddressType != "IP6") {
		return netip.Addr{}, fmt.Errorf("%w: c=%s %s", ErrMalformed, c.NetworkType, c.AddressType)
	}
	a, err := netip.ParseAddr(c.Address.Address)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%w: c= address %q is not an IP address", ErrMalformed, c.Address.Address)
	}
	if a.Is4() != (c.AddressType == "IP4") {
		return netip.Addr{}, fmt.Errorf("%w: c= address %q is not %s", ErrMalformed, c.Address.Address, c.AddressType)
	}
	if a.IsMulticast() {
		return netip.Addr{}, fmt.Errorf("%w: multicast c= address %s", ErrMalformed, a)
	}
	return a, nil
}

func isRTP(md *sdp.MediaDescription) bool {
	for _, p := range md.MediaName.Protos {
		if p == "RTP" {
			return true
		}
	}
	return false
}

// supportedProto: plain RTP profiles. RTP/SAVP(F) passes through with its
// a=crypto lines (SDES, RFC 4568): the relay does not look into the payload.
// DTLS-SRTP (UDP/TLS/RTP/SAVPF) is the WebRTC leg's business.
// The m= line's proto is the slash-separated protos (RFC 4566 §5.14),
// compared without joining them: audioIndex runs several times per call.
func supportedProto(protos []string) bool {
	for _, p := range [...]string{"RTP/AVP", "RTP/AVPF", "RTP/SAVP", "RTP/SAVPF"} {
		if joinedIs(protos, p) {
			return true
		}
	}
	return false
}

// joinedIs reports whether strings.Join(parts, "/") == s.
func joinedIs(parts []string, s string) bool {
	for i, p := range parts {
		if i > 0 {
			if s == "" || s[0] != '/' {
				return false
			}
			s = s[1:]
		}
		if !strings.HasPrefix(s, p) {
			return false
		}
		s = s[len(p):]
	}
	return s == ""
}

// audioIndex is the index of the first audio m= line with a non-zero port.
func audioIndex(sd *sdp.SessionDescription) (int, error) {
	for i, md := range sd.MediaDescriptions {
		if md.MediaName.Media == "audio" && md.MediaName.Port.Value != 0 {
			if !supportedProto(md.MediaName.Protos) {
				return -1, fmt.Errorf("%w: m=audio %s", ErrUnsupportedTransport, strings.Join(md.MediaName.Protos, "/"))
			}
			return i, nil
		}
	}
	return -1, ErrNoAudio
}

// AudioStream returns the first audio stream with a non-zero port of a
// description that Parse accepted.
func AudioStream(sd *sdp.SessionDescription) (Stream, error) {
	i, err := audioIndex(sd)
	if err != nil {
		return Stream{}, err
	}
	md := sd.MediaDescriptions[i]
	addr, err := connAddr(sd, md)
	if err != nil {
		return Stream{}, err
	}
	st := Stream{
		Index:     i,
		Proto:     strings.Join(md.MediaName.Protos, "/"),
		RTP:       netip.AddrPortFrom(addr, uint16(md.MediaName.Port.Value)),
		Direction: direction(sd, md),
	}
	if st.Codecs, err = codecs(md); err != nil {
		return Stream{}, err
	}
	if v, ok := md.Attribute("rtcp"); ok {
		if st.RTCP, err = parseRTCPAttr(v, addr); err != nil {
			return Stream{}, err
		}
	}
	if v, ok := md.Attribute("ptime"); ok {
		if p, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && p > 0 && p <= 1000 {
			st.Ptime = p
		}
	}
	return st, nil
}

// codecs lists the formats of an RTP m= line with their rtpmap and fmtp.
// A dynamic payload type without a=rtpmap is kept with an empty name: it
// matches nothing and is dropped by Intersect.
func codecs(md *sdp.MediaDescription) ([]Codec, error) {
	maps := map[uint8]Codec{}
	fmtps := map[uint8]string{}
	for _, a := range md.Attributes {
		switch a.Key {
		case "rtpmap":
			c, err := parseRtpmap(a.Value)
			if err != nil {
				return nil, err
			}
			maps[c.PayloadType] = c
		case "fmtp":
			if pt := payloadAttr(a.Value); pt >= 0 {
				_, params, _ := strings.Cut(a.Value, " ")
				fmtps[uint8(pt)] = strings.TrimSpace(params)
			}
		}
	}
	out := make([]Codec, 0, len(md.MediaName.Formats))
	for _, f := range md.MediaName.Formats {
		pt64, err := strconv.ParseUint(f, 10, 7)
		if err != nil {
			return nil, fmt.Errorf("%w: payload type %q", ErrMalformed, f)
		}
		pt := uint8(pt64)
		c, ok := maps[pt]
		if !ok {
			c = staticCodecs[pt] // zero Codec for an unmapped dynamic type
		}
		c.PayloadType = pt
		c.Fmtp = fmtps[pt]
		out = append(out, c)
	}
	return out, nil
}

// direction: media level, else session level, else sendrecv.
func direction(sd *sdp.SessionDescription, md *sdp.MediaDescription) sdp.Direction {
	for _, attrs := range [][]sdp.Attribute{md.Attributes, sd.Attributes} {
		for _, a := range attrs {
			if d, err := sdp.NewDirection(a.Key); err == nil && a.Value == "" {
				return d
			}
		}
	}
	return sdp.DirectionSendRecv
}

// parseRTCPAttr reads a=rtcp:<port> [IN IP4 <addr>] (RFC 3605 §2.1).
func parseRTCPAttr(v string, def netip.Addr) (netip.AddrPort, error) {
	f := strings.Fields(v)
	if len(f) == 0 {
		return netip.AddrPort{}, fmt.Errorf("%w: a=rtcp:%s", ErrMalformed, v)
	}
	port, err := strconv.ParseUint(f[0], 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}, fmt.Errorf("%w: a=rtcp port %q", ErrMalformed, f[0])
	}
	addr := def
	if len(f) == 4 && f[0] != "" {
		a, err := netip.ParseAddr(f[3])
		if err != nil || a.Zone() != "" {
			return netip.AddrPort{}, fmt.Errorf("%w: a=rtcp address %q", ErrMalformed, f[3])
		}
		addr = a
	} else if len(f) != 1 {
		return netip.AddrPort{}, fmt.Errorf("%w: a=rtcp:%s", ErrMalformed, v)
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}
