package config

import (
	"net"
	"net/netip"
	"regexp"
	"slices"
	"time"

	"github.com/switchboard-gw/switchboard/dnssrv"
)

// DNS configures how trunk targets are found: NAPTR, SRV, A/AAAA
// (RFC 3263), with a cache.
type DNS struct {
	// Servers are the DNS servers asked, in order, as IP:PORT or a bare IP
	// address (port 53); IPv6 as [2001:db8::53]:53. Host names are not
	// allowed. Default: the nameservers in /etc/resolv.conf, read at start.
	Servers []string `yaml:"servers"`

	// Timeout bounds one query to one server; more than 0.
	// Default: 2s.
	Timeout Duration `yaml:"timeout"`

	// Attempts is how many rounds over the servers one lookup makes, 1 to
	// 10. Default: 2.
	Attempts int `yaml:"attempts"`

	// EDNSBuffer is the EDNS0 UDP payload size advertised (RFC 6891) and
	// the largest UDP answer accepted, 512 to 65535; larger answers come
	// over TCP. 0 sends no EDNS0. Default: 1232.
	EDNSBuffer int `yaml:"edns_buffer"`

	// IPv6 looks up AAAA records as well as A; IPv4 addresses are tried
	// first. Default: true.
	IPv6 bool `yaml:"ipv6"`

	// Transports are the transports used, in order of preference, when a
	// domain has no NAPTR records (RFC 3263 §4.1); NAPTR services for other
	// transports are ignored. Allowed: udp, tcp, tls, ws, wss.
	// Default: [udp, tcp, tls].
	Transports []string `yaml:"transports"`

	// CacheSize is the most lookups kept in the cache; at least 1.
	// Default: 10000.
	CacheSize int `yaml:"cache_size"`

	// MaxStale is how long past its TTL an answer is still used while one
	// refresh runs in the background (RFC 8767), so that a DNS outage does
	// not stop calls. 0 never serves stale answers. Default: 24h.
	MaxStale Duration `yaml:"max_stale"`

	// MaxNegativeTTL caps how long a "no such name" or "no such record"
	// answer is cached (RFC 2308); at least 1s. Default: 30s.
	MaxNegativeTTL Duration `yaml:"max_negative_ttl"`
}

// Trunk is a next hop that calls go to, such as the PBX, found through
// DNS, with failover between its servers and health probing.
type Trunk struct {
	// Name identifies the trunk in routes, logs, metrics and the admin
	// API: 1 to 64 letters, digits and . _ -, starting with a letter or
	// digit. Required; unique.
	Name string `yaml:"name"`

	// Target is where the trunk's requests go: a sip: or sips: URI
	// (sip:pbx.example.com, sip:pbx.example.com;transport=tcp,
	// sips:pbx.example.com), host:port, or an IP address. Without a port
	// or transport, NAPTR and SRV records choose them (RFC 3263).
	// Required.
	Target string `yaml:"target"`

	// FailoverTimeout is how long a server may take to send its first
	// response (even 100 Trying) before the request is sent to the next
	// one; more than 0 and at most timeout. Default: 500ms.
	FailoverTimeout Duration `yaml:"failover_timeout"`

	// Timeout bounds a request over all the servers tried (Timer B);
	// more than 0. Default: 32s.
	Timeout Duration `yaml:"timeout"`

	// MaxFails is how many failures in a row (transport error, failover
	// status, failed probe) mark a server down; at least 1. A timeout
	// alone makes it suspect until a probe confirms (dnssrv.Health). A server that is
	// down is tried after the others; when all are down, all are tried
	// in order. Default: 1.
	MaxFails int `yaml:"max_fails"`

	// FailoverCodes are the final responses, 400 to 699, that send a
	// request on to the next server; [] fails over only on transport
	// errors and timeouts. A 503 with Retry-After keeps the server out
	// for that long (RFC 3261 §21.5.4). Default: [503].
	FailoverCodes []int `yaml:"failover_codes"`

	// Probe configures OPTIONS probing of the trunk's servers.
	Probe Probe `yaml:"probe"`

	// Match lists the dialled numbers that go to this trunk: digits, *
	// and # (an optional leading +) match exactly; a trailing x matches
	// any further digits ("9x" is every number starting with 9). The
	// first trunk with a match wins. Default: none (no calls).
	Match []string `yaml:"match"`

	// Number rewrites the numbers of calls sent to this trunk.
	Number TrunkNumber `yaml:"number"`

	// Register makes the gateway register to this trunk.
	Register TrunkRegister `yaml:"register"`

	// Auth answers the trunk's digest challenges to our INVITEs.
	// Default: the register credentials.
	Auth TrunkAuth `yaml:"auth"`

	// Class is the class of service of calls from this trunk: what its
	// transfers and diversions may reach. Default: call_policy.trunk_class.
	Class string `yaml:"class"`

	// Limits cap the calls on this trunk (call_policy).
	Limits TrunkLimits `yaml:"limits"`

	// Domain is the trunk's own domain, the host of the Request-URI, To
	// and From of calls to it (RFC 3263 §4: the request goes to the
	// server found, the URI keeps the domain). Default: empty (the
	// server's address in the Request-URI, our domain in From and To).
	Domain string `yaml:"domain"`

	// CallerID is what the trunk sees of the caller (trunkident.go).
	CallerID CallerID `yaml:"caller_id"`

	// MediaInterface names the media.interfaces entry whose address this
	// trunk's call legs relay media on (media.go). Default: the first.
	MediaInterface string `yaml:"media_interface"`

	// FollowRedirects is how many 3xx of this trunk a call follows itself,
	// 0 to 5, each new target routed and admitted like a dialled number;
	// 0 relays the 3xx (with its Contact) to the caller. Default: 0.
	FollowRedirects int `yaml:"follow_redirects"`
}

// Probe configures SIP OPTIONS probing of a trunk's servers, as Kamailio's
// dispatcher does. Any answer but 408 and 5xx counts as alive.
type Probe struct {
	// Interval is the time between probe rounds; 0 turns probing off, and
	// then a server that is down is tried first again after 30s.
	// Default: 10s.
	Interval Duration `yaml:"interval"`

	// Timeout bounds one probe; not negative, at most interval. 0 means
	// the interval, at most 5s. Default: 0.
	Timeout Duration `yaml:"timeout"`

	// UpAfter is how many probes in a row a server that is down must
	// answer to come back; at least 1. Default: 1.
	UpAfter int `yaml:"up_after"`

	// Mode is down (probe only servers that are down) or all (probe every
	// server, so a dead one is found before a call hits it).
	// Default: down.
	Mode string `yaml:"mode"`
}

// defaultDNS returns the dns defaults.
func defaultDNS() DNS {
	return DNS{
		Timeout:        Duration(2 * time.Second),
		Attempts:       2,
		EDNSBuffer:     1232,
		IPv6:           true,
		Transports:     []string{"udp", "tcp", "tls"},
		CacheSize:      10000,
		MaxStale:       Duration(24 * time.Hour),
		MaxNegativeTTL: Duration(30 * time.Second),
	}
}

// setDefaults fills a trunks entry before it is decoded.
func (t *Trunk) setDefaults() {
	t.FailoverTimeout = Duration(500 * time.Millisecond)
	t.Timeout = Duration(32 * time.Second)
	t.MaxFails = 1
	t.FailoverCodes = []int{503}
	t.Probe = Probe{Interval: Duration(10 * time.Second), UpAfter: 1, Mode: "down"}
	t.Number = TrunkNumber{Format: FormatAsDialled}
	t.Register = TrunkRegister{Expires: 600}
	t.Limits = defaultTrunkLimits()
	t.CallerID = defaultCaller
}

// DefaultTrunk returns a trunk with every default filled in.
func DefaultTrunk(name, target string) Trunk {
	t := Trunk{Name: name, Target: target}
	t.setDefaults()
	return t
}

var (
	trunkNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	transports  = []string{"udp", "tcp", "tls", "ws", "wss"}
	probeModes  = []string{"down", "all"}
)

func (d *decoder) validateDNS(c *DNS) {
	for i, s := range c.Servers {
		if !validDNSServer(s) {
			d.errorf(index("dns.servers", i), "%q is not an IP address or IP:PORT (host names are not allowed)", s)
		}
	}
	if c.Timeout <= 0 {
		d.errorf("dns.timeout", "%s must be more than 0", c.Timeout)
	}
	if c.Attempts < 1 || c.Attempts > 10 {
		d.errorf("dns.attempts", "%d is out of range: must be from 1 to 10", c.Attempts)
	}
	if c.EDNSBuffer != 0 && (c.EDNSBuffer < 512 || c.EDNSBuffer > 65535) {
		d.errorf("dns.edns_buffer", "%d is out of range: must be 0 (off) or from 512 to 65535", c.EDNSBuffer)
	}
	if len(c.Transports) == 0 {
		d.errorf("dns.transports", "at least one transport is required")
	}
	for i, tp := range c.Transports {
		p := index("dns.transports", i)
		if d.oneOf(p, tp, transports) {
			if j := slices.Index(c.Transports[:i], tp); j >= 0 {
				d.errorf(p, "duplicate transport %q (also dns.transports[%d])", tp, j)
			}
		}
	}
	if c.CacheSize < 1 {
		d.errorf("dns.cache_size", "%d must be at least 1", c.CacheSize)
	}
	d.nonNegative("dns.max_stale", c.MaxStale)
	if c.MaxNegativeTTL.D() < time.Second {
		d.errorf("dns.max_negative_ttl", "%s must be at least 1s", c.MaxNegativeTTL)
	}
}

// validDNSServer accepts IP, [IPv6], IP:PORT and [IPv6]:PORT.
func validDNSServer(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		a, err := netip.ParseAddr(s[1 : len(s)-1])
		return err == nil && a.Is6()
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return false
	}
	p, err := parsePort(port)
	return err == nil && p > 0
}

func (d *decoder) validateTrunks(ts []Trunk) {
	names := map[string]int{}
	for i, t := range ts {
		p := index("trunks", i)
		switch j, dup := names[t.Name]; {
		case t.Name == "":
			d.errorf(p+".name", "is required")
		case !trunkNameRE.MatchString(t.Name):
			d.errorf(p+".name", "%q is not a valid trunk name: use 1 to 64 letters, digits and . _ -, starting with a letter or digit", t.Name)
		case dup:
			d.errorf(p+".name", "duplicate trunk name %q (also trunks[%d])", t.Name, j)
		default:
			names[t.Name] = i
		}
		if t.Target == "" {
			d.errorf(p+".target", "is required")
		} else if _, err := dnssrv.ParseTarget(t.Target); err != nil {
			d.errorf(p+".target", "%q: %v", t.Target, err)
		}
		if t.Timeout <= 0 {
			d.errorf(p+".timeout", "%s must be more than 0", t.Timeout)
		}
		switch {
		case t.FailoverTimeout <= 0:
			d.errorf(p+".failover_timeout", "%s must be more than 0", t.FailoverTimeout)
		case t.Timeout > 0 && t.FailoverTimeout > t.Timeout:
			d.errorf(p+".failover_timeout", "%s is more than timeout (%s)", t.FailoverTimeout, t.Timeout)
		}
		if t.MaxFails < 1 {
			d.errorf(p+".max_fails", "%d must be at least 1", t.MaxFails)
		}
		for k, code := range t.FailoverCodes {
			if code < 400 || code > 699 {
				d.errorf(index(p+".failover_codes", k), "%d is not a failure status: use 400 to 699", code)
			}
		}
		pr := t.Probe
		d.nonNegative(p+".probe.interval", pr.Interval)
		switch {
		case pr.Timeout < 0:
			d.nonNegative(p+".probe.timeout", pr.Timeout)
		case pr.Interval > 0 && pr.Timeout > pr.Interval:
			d.errorf(p+".probe.timeout", "%s is more than probe.interval (%s)", pr.Timeout, pr.Interval)
		}
		if pr.UpAfter < 1 {
			d.errorf(p+".probe.up_after", "%d must be at least 1", pr.UpAfter)
		}
		d.oneOf(p+".probe.mode", pr.Mode, probeModes)
		d.validateMatch(p, t.Match)
		d.validateTrunkRegister(p, t.Register)
		d.validateTrunkAuth(p, t.Auth)
		d.validateTrunkIdentity(p, t)
	}
}
