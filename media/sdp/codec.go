package sdp

import (
	"fmt"
	"strconv"
	"strings"
)

// Codec is one payload format of an m= line: a=rtpmap (or the static table
// of RFC 3551 §6) and a=fmtp.
type Codec struct {
	PayloadType uint8
	Name        string // encoding name, as written ("PCMU", "telephone-event")
	ClockRate   uint32
	Channels    int    // 0 means 1
	Fmtp        string // a=fmtp parameters, as written
}

// String is the rtpmap form, "PCMU/8000" or "opus/48000/2".
func (c Codec) String() string {
	s := c.Name + "/" + strconv.FormatUint(uint64(c.ClockRate), 10)
	if c.Channels > 1 {
		s += "/" + strconv.Itoa(c.Channels)
	}
	return s
}

// Matches reports whether c and o are the same codec: same encoding name
// (case-insensitive), clock rate and channel count (RFC 3264 §6.1). The
// payload type may differ (dynamic types are chosen by each offerer).
func (c Codec) Matches(o Codec) bool {
	return strings.EqualFold(c.Name, o.Name) && c.ClockRate == o.ClockRate && c.channels() == o.channels()
}

func (c Codec) channels() int {
	if c.Channels == 0 {
		return 1
	}
	return c.Channels
}

// IsEvent reports whether c carries no audio of its own: telephone-event
// (RFC 4733) or comfort noise (RFC 3389).
func (c Codec) IsEvent() bool {
	return strings.EqualFold(c.Name, "telephone-event") || strings.EqualFold(c.Name, "CN")
}

// DefaultCodecs is what the relay passes when the configuration does not say:
// it relays RTP untouched, so any codec both ends share works; these are the
// ones telephony equipment offers.
var DefaultCodecs = []Codec{
	{Name: "PCMU", ClockRate: 8000},
	{Name: "PCMA", ClockRate: 8000},
	{Name: "G722", ClockRate: 8000},
	{Name: "G729", ClockRate: 8000},
	{Name: "opus", ClockRate: 48000, Channels: 2},
	{Name: "telephone-event", ClockRate: 8000},
	{Name: "telephone-event", ClockRate: 48000},
	{Name: "CN", ClockRate: 8000},
}

// staticCodecs are the static audio payload types of RFC 3551 §6, used when
// an m= line lists one without a=rtpmap.
var staticCodecs = map[uint8]Codec{
	0:  {Name: "PCMU", ClockRate: 8000},
	3:  {Name: "GSM", ClockRate: 8000},
	4:  {Name: "G723", ClockRate: 8000},
	5:  {Name: "DVI4", ClockRate: 8000},
	6:  {Name: "DVI4", ClockRate: 16000},
	7:  {Name: "LPC", ClockRate: 8000},
	8:  {Name: "PCMA", ClockRate: 8000},
	9:  {Name: "G722", ClockRate: 8000},
	10: {Name: "L16", ClockRate: 44100, Channels: 2},
	11: {Name: "L16", ClockRate: 44100},
	12: {Name: "QCELP", ClockRate: 8000},
	13: {Name: "CN", ClockRate: 8000},
	14: {Name: "MPA", ClockRate: 90000},
	15: {Name: "G728", ClockRate: 8000},
	16: {Name: "DVI4", ClockRate: 11025},
	17: {Name: "DVI4", ClockRate: 22050},
	18: {Name: "G729", ClockRate: 8000},
}

// parseRtpmap reads the value of a=rtpmap: "<pt> <name>/<rate>[/<channels>]"
// (RFC 4566 §6). pion/sdp splits the lines; this splits the one value.
func parseRtpmap(v string) (Codec, error) {
	ptStr, enc, ok := strings.Cut(v, " ")
	if !ok {
		return Codec{}, fmt.Errorf("%w: a=rtpmap:%s", ErrMalformed, v)
	}
	pt, err := strconv.ParseUint(ptStr, 10, 7)
	if err != nil {
		return Codec{}, fmt.Errorf("%w: a=rtpmap payload type %q", ErrMalformed, ptStr)
	}
	parts := strings.Split(strings.TrimSpace(enc), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
		return Codec{}, fmt.Errorf("%w: a=rtpmap:%s", ErrMalformed, v)
	}
	rate, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil || rate == 0 {
		return Codec{}, fmt.Errorf("%w: a=rtpmap clock rate %q", ErrMalformed, parts[1])
	}
	c := Codec{PayloadType: uint8(pt), Name: parts[0], ClockRate: uint32(rate)}
	if len(parts) == 3 {
		ch, err := strconv.ParseUint(parts[2], 10, 8)
		if err != nil || ch == 0 {
			return Codec{}, fmt.Errorf("%w: a=rtpmap channels %q", ErrMalformed, parts[2])
		}
		c.Channels = int(ch)
	}
	return c, nil
}

// payloadAttr returns the payload type an a=rtpmap, a=fmtp or a=rtcp-fb value
// is about, or -1 (also for the rtcp-fb wildcard "*").
func payloadAttr(v string) int {
	ptStr, _, _ := strings.Cut(v, " ")
	pt, err := strconv.ParseUint(ptStr, 10, 7)
	if err != nil {
		return -1
	}
	return int(pt)
}
