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
	// address other than its own (NAT), for a gateway without
	// Interfaces. Default: empty (the address of the first IPv4 SIP
	// listener on a single address, else the address of the default
	// route; IPv6 legs get the first IPv6 listener's address).
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

	// Interfaces are the named networks media is relayed on
	// (rtpengine-style): each call leg's relay sockets are bound on the
	// address of its interface and its SDP carries that interface's
	// advertised address. A name may be given twice, once with an IPv4
	// and once with an IPv6 address: a leg whose far end is IPv6 then
	// gets the IPv6 one (c=IN IP6). Trunks choose theirs with
	// trunks[].media_interface, SIP listeners with Listeners; every other
	// leg uses the first interface. Default: none, the relay on every
	// IPv4 address with public_address in SDP.
	Interfaces []MediaInterface `yaml:"interfaces"`

	// Listeners give the legs of calls that reach the gateway on a SIP
	// listener (phones) the interface of that listener. Default: none
	// (the first interface).
	Listeners []MediaListener `yaml:"listeners"`

	// RelayThreads is the number of the relay's I/O threads (epoll
	// workers), 0 to 256; each serves its share of the calls. 0: one per
	// CPU the process may use (GOMAXPROCS). Default: 0.
	RelayThreads int `yaml:"relay_threads"`

	// Ringback is the tone played to a party waiting for a transfer
	// target that rings without early media (ringback.go).
	Ringback Ringback `yaml:"ringback"`
}

// MediaInterface is one address of a named media interface.
type MediaInterface struct {
	// Name identifies the interface in trunks[].media_interface and
	// media.listeners: 1 to 64 letters, digits and . _ -. Required.
	Name string `yaml:"name"`

	// Address is the local IP address the relay's sockets bind to, IPv4
	// or IPv6. 0.0.0.0 or :: (every address) needs advertise. Required.
	Address string `yaml:"address"`

	// Advertise is the address written in SDP when the far ends reach the
	// gateway on another address than Address (a public address
	// forwarded to it, NAT). The same family as Address. Default: Address.
	Advertise string `yaml:"advertise"`
}

// MediaListener gives the call legs of one SIP listener a media interface.
type MediaListener struct {
	// Listen is one of sip.listen, written the same way. Required.
	Listen string `yaml:"listen"`

	// Interface is the name of one of media.interfaces. Required.
	Interface string `yaml:"interface"`
}

// Interface returns the addresses of the interface called name: its IPv4
// and IPv6 entries (nil for a family it lacks), with ok false when no
// interface has that name.
func (m *Media) Interface(name string) (v4, v6 *MediaInterface, ok bool) {
	for i := range m.Interfaces {
		mi := &m.Interfaces[i]
		if mi.Name != name {
			continue
		}
		ok = true
		if ip, err := netip.ParseAddr(mi.Address); err == nil && ip.Unmap().Is4() {
			v4 = mi
		} else {
			v6 = mi
		}
	}
	return v4, v6, ok
}

// Latching modes of media.latching.
var latchingModes = []string{"signalling", "sdp-address", "off"}

// defaultMedia returns the media defaults.
func defaultMedia() Media {
	return Media{PortMin: 40000, PortMax: 49999, Timeout: Duration(60 * time.Second),
		HoldTimeout: Duration(2 * time.Hour), Latching: "signalling", Ringback: defaultRingback()}
}

// matchRE is a trunk match: digits, * and #, an optional leading +, and a
// trailing "x" for any further digits (a prefix).
var matchRE = regexp.MustCompile(`^\+?[0-9*#]{1,32}x?$`)

func (d *decoder) validateMedia(c *Config) {
	m := &c.Media
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
		} else if len(m.Interfaces) > 0 {
			d.errorf("media.public_address", "is for a gateway without media.interfaces: give the interfaces an advertise address instead")
		}
	}
	if m.RelayThreads < 0 || m.RelayThreads > maxRelayThreads {
		d.errorf("media.relay_threads", "%d is out of range: must be from 0 (one per CPU) to %d", m.RelayThreads, maxRelayThreads)
	}
	d.validateMediaInterfaces(m)
	d.validateRingback(m)
	d.validateMediaListeners(c)
	for i, t := range c.Trunks {
		if t.MediaInterface == "" {
			continue
		}
		if _, _, ok := m.Interface(t.MediaInterface); !ok {
			d.errorf(index("trunks", i)+".media_interface", "%q is not one of media.interfaces%s", t.MediaInterface, m.interfaceNames())
		}
	}
}

// maxRelayThreads bounds media.relay_threads.
const maxRelayThreads = 256

// validateMediaInterfaces checks media.interfaces: names, addresses, at most
// one IPv4 and one IPv6 entry per name.
func (d *decoder) validateMediaInterfaces(m *Media) {
	type seen struct{ v4, v6 int }
	names := map[string]*seen{}
	for i, mi := range m.Interfaces {
		p := index("media.interfaces", i)
		if mi.Name == "" {
			d.errorf(p+".name", "is required")
		} else if !trunkNameRE.MatchString(mi.Name) {
			d.errorf(p+".name", "%q is not a valid interface name: use 1 to 64 letters, digits and . _ -, starting with a letter or digit", mi.Name)
		}
		addr, err := netip.ParseAddr(mi.Address)
		switch {
		case mi.Address == "":
			d.errorf(p+".address", "is required")
			continue
		case err != nil || addr.Zone() != "":
			d.errorf(p+".address", "%q is not an IP address", mi.Address)
			continue
		}
		addr = addr.Unmap()
		if mi.Advertise != "" {
			adv, err := netip.ParseAddr(mi.Advertise)
			switch {
			case err != nil || adv.Zone() != "":
				d.errorf(p+".advertise", "%q is not an IP address", mi.Advertise)
			case adv.Unmap().Is4() != addr.Is4():
				d.errorf(p+".advertise", "%q is not of the same address family as address %q", mi.Advertise, mi.Address)
			case adv.IsUnspecified():
				d.errorf(p+".advertise", "%q cannot be reached: give the address the far ends send to", mi.Advertise)
			}
		} else if addr.IsUnspecified() {
			d.errorf(p+".address", "%q is every address: give advertise, the address written in SDP", mi.Address)
		}
		if mi.Name == "" {
			continue
		}
		s := names[mi.Name]
		if s == nil {
			s = &seen{-1, -1}
			names[mi.Name] = s
		}
		prev, family := &s.v4, "IPv4"
		if addr.Is6() {
			prev, family = &s.v6, "IPv6"
		}
		if *prev >= 0 {
			d.errorf(p+".name", "interface %q has an %s address already (media.interfaces[%d]): a name has at most one IPv4 and one IPv6 address", mi.Name, family, *prev)
		} else {
			*prev = i
		}
	}
}

// validateMediaListeners checks media.listeners against sip.listen and
// media.interfaces.
func (d *decoder) validateMediaListeners(c *Config) {
	m := &c.Media
	seen := map[string]int{}
	for i, ml := range m.Listeners {
		p := index("media.listeners", i)
		switch j, dup := seen[ml.Listen]; {
		case ml.Listen == "":
			d.errorf(p+".listen", "is required")
		case !slices.Contains(c.SIP.Listen, ml.Listen):
			d.errorf(p+".listen", "%q is not one of sip.listen", ml.Listen)
		case dup:
			d.errorf(p+".listen", "%q has an interface already (media.listeners[%d])", ml.Listen, j)
		default:
			seen[ml.Listen] = i
		}
		if ml.Interface == "" {
			d.errorf(p+".interface", "is required")
		} else if _, _, ok := m.Interface(ml.Interface); !ok {
			d.errorf(p+".interface", "%q is not one of media.interfaces%s", ml.Interface, m.interfaceNames())
		}
	}
}

// interfaceNames lists the configured interface names for a message.
func (m *Media) interfaceNames() string {
	var names []string
	for _, mi := range m.Interfaces {
		if mi.Name != "" && !slices.Contains(names, mi.Name) {
			names = append(names, mi.Name)
		}
	}
	if len(names) == 0 {
		return " (none is configured)"
	}
	return " (" + strings.Join(names, ", ") + ")"
}

func (d *decoder) validateMatch(p string, ms []string) {
	for k, m := range ms {
		if !matchRE.MatchString(m) {
			d.errorf(index(p+".match", k), "%q is not a number pattern: use digits, * and #, an optional leading + and a trailing x for a prefix", m)
		}
	}
}
