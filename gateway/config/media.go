package config

import (
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Media configures the RTP relay that anchors every call's media.
type Media struct {
	// PortMin and PortMax bound the UDP ports of the relay, both
	// included, 1024 to 65535, port_min even and less than port_max. RTP
	// takes the even port of each pair, RTCP the next (RFC 3550 §11); each
	// call takes two pairs. Default: 40000 and 49999.
	PortMin int `yaml:"port_min"`
	PortMax int `yaml:"port_max"`

	// PublicAddress is the IP address written in SDP for the relay's
	// ports, when the phones and the PBX must reach the gateway on an
	// address other than its own (NAT). Default: empty (the address of the
	// first SIP listener, or the address of the default route when that
	// listener is on every interface).
	PublicAddress string `yaml:"public_address"`

	// Timeout hangs up an answered call, on both legs, when no RTP came
	// from either side for this long (a phone that lost power, a PBX that
	// forgot the call). Calls on hold are timed out by HoldTimeout
	// instead. 0 turns it off. Default: 60s.
	Timeout Duration `yaml:"timeout"`

	// HoldTimeout replaces Timeout while a call is on hold: a side said
	// sendonly, recvonly or inactive, or c=0.0.0.0 (RFC 3264 §8.4), so
	// media may flow one way at most and a holding phone without music on
	// hold sends nothing. The call is hung up when no RTP came either way
	// for this long on hold. 0 turns it off (session timers still reap
	// dead calls). Default: 2h.
	HoldTimeout Duration `yaml:"hold_timeout"`

	// Latching says which sources may become a call side's media source
	// (symmetric RTP), in the first second after each SDP only:
	// "signalling" (the SDP's IP or the IP the side's SIP comes from, for
	// phones behind NAT), "sdp-address" (the SDP's IP only) or "off" (the
	// exact SDP address and port). Any other source is a stranger: never
	// forwarded, counted, logged. Default: signalling.
	Latching string `yaml:"latching"`

	// AllowSSRCChange lets a latched source change its RTP SSRC without a
	// new SDP (a PBX that switches to music on hold or a transferred party
	// without a re-INVITE). Default: false, such packets are dropped.
	AllowSSRCChange bool `yaml:"allow_ssrc_change"`
}

// Latching modes of media.latching.
var latchingModes = []string{"signalling", "sdp-address", "off"}

// defaultMedia returns the media defaults.
func defaultMedia() Media {
	return Media{PortMin: 40000, PortMax: 49999, Timeout: Duration(60 * time.Second),
		HoldTimeout: Duration(2 * time.Hour), Latching: "signalling"}
}

// matchRE is a trunk match: digits, * and #, an optional leading +, and a
// trailing "x" for any further digits (a prefix).
var matchRE = regexp.MustCompile(`^\+?[0-9*#]{1,32}x?$`)

func (d *decoder) validateMedia(m *Media) {
	if m.PortMin < 1024 || m.PortMin > 65535 {
		d.errorf("media.port_min", "%d is out of range: must be from 1024 to 65535", m.PortMin)
	} else if m.PortMin%2 != 0 {
		d.errorf("media.port_min", "%d must be even (RTP takes the even port, RFC 3550 §11)", m.PortMin)
	}
	if m.PortMax < 1024 || m.PortMax > 65535 {
		d.errorf("media.port_max", "%d is out of range: must be from 1024 to 65535", m.PortMax)
	} else if m.PortMax < m.PortMin+3 {
		d.errorf("media.port_max", "%d leaves no room for a call (two port pairs) above port_min %d", m.PortMax, m.PortMin)
	}
	if t := m.Timeout.D(); t != 0 && (t < time.Second || t > 24*time.Hour) {
		d.errorf("media.timeout", "%s is out of range: must be 0 (off) or from 1s to 24h", t)
	}
	if t := m.HoldTimeout.D(); t != 0 && (t < time.Second || t > 24*time.Hour) {
		d.errorf("media.hold_timeout", "%s is out of range: must be 0 (off) or from 1s to 24h", t)
	}
	if !slices.Contains(latchingModes, m.Latching) {
		d.errorf("media.latching", "%q is not a latching mode: use %s", m.Latching, strings.Join(latchingModes, ", "))
	}
	if m.PublicAddress != "" {
		if _, err := netip.ParseAddr(m.PublicAddress); err != nil {
			d.errorf("media.public_address", "%q is not an IP address", m.PublicAddress)
		}
	}
}

func (d *decoder) validateMatch(p string, ms []string) {
	for k, m := range ms {
		if !matchRE.MatchString(m) {
			d.errorf(index(p+".match", k), "%q is not a number pattern: use digits, * and #, an optional leading + and a trailing x for a prefix", m)
		}
	}
}
