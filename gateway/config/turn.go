package config

import (
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TURN configures the STUN and TURN server (RFC 8489, RFC 8656) that
// browsers and softphones use to reach the gateway's media through NAT.
type TURN struct {
	// Enabled runs the STUN/TURN server; the other keys are checked even
	// when it is off. Default: true (WebRTC clients
	// behind NAT need it, and softphones expect STUN/TURN on 3478).
	Enabled bool `yaml:"enabled"`

	// Listen lists the listeners as udp://host:port, tcp://host:port,
	// tls://host:port and dtls://host:port (TURN over TLS and over DTLS,
	// RFC 7350, with the certificate of the HTTPS side: http.tls, else
	// sip.tls, else the self-signed one; DTLS is UDP, so dtls:// may share
	// TLS's port number, 5349). STUN Binding is answered on each.
	// Default: [udp://0.0.0.0:3478, tcp://0.0.0.0:3478,
	// tls://0.0.0.0:5349] (no DTLS: add dtls://0.0.0.0:5349 for it).
	Listen []string `yaml:"listen"`

	// Realm is the long-term credential realm (RFC 8489 §9.2). Default:
	// the digest realm (registrar.realm or the first domain).
	Realm string `yaml:"realm"`

	// Secret is the TURN REST API shared secret (coturn's
	// static-auth-secret): a username "expiry:user" has the password
	// base64(HMAC-SHA1(secret, username)). At least 16 characters. Default:
	// a random secret made at first start and kept in
	// <data_dir>/turn.secret.
	Secret string `yaml:"secret"`

	// Users are static TURN users with fixed passwords, for clients that
	// cannot use REST credentials (desk softphones). Default: none.
	Users []TURNUser `yaml:"users"`

	// RelayAddress is the IP address of the relayed transport addresses
	// given to clients (XOR-RELAYED-ADDRESS). Default: media.public_address,
	// else the address of the default route.
	RelayAddress string `yaml:"relay_address"`

	// RelayBind is the IP address the relay sockets bind to, when the
	// relay address is not local (1:1 NAT). Default: every address of the
	// relay address's family.
	RelayBind string `yaml:"relay_bind"`

	// PublicHost is the host name or IP address in the stun:, turn: and
	// turns: URLs handed to the web phone; name it as the TLS certificate
	// does for turns:. Default: relay_address.
	PublicHost string `yaml:"public_host"`

	// PortMin and PortMax bound the UDP/TCP ports of relays, both
	// included, 1024 to 65535, apart from media's range; 0 and 0 take any
	// free port. Default: 50000 and 59999.
	PortMin int `yaml:"port_min"`
	PortMax int `yaml:"port_max"`

	// AllowPeers opens peer ranges (CIDR or a bare IP address) that are
	// denied by default: loopback, RFC 1918, RFC 6598, ULA, link-local,
	// multicast and cloud metadata (169.254.169.254, fd00:ec2::254).
	// Relaying there lets anyone with credentials reach the gateway's own
	// host and networks: open only what the clients must reach, such as a
	// PBX's media subnet. Default: none.
	AllowPeers []string `yaml:"allow_peers"`

	// UserQuota is the most allocations one user may hold at once; more
	// get 486 (RFC 8656 §7.2). 0 is no limit. Default: 10.
	UserQuota int `yaml:"user_quota"`

	// TotalQuota is the most allocations in all; 0 is no limit.
	// Default: 2000.
	TotalQuota int `yaml:"total_quota"`

	// MaxBitrate caps each UDP allocation, in bits per second in each
	// direction; packets over it are dropped. 0 is no cap. Default:
	// 5000000 (an HD video call).
	MaxBitrate int `yaml:"max_bitrate"`

	// Lifetime is the allocation lifetime when a client asks for none
	// (RFC 8656 §7.2), 1m to 1h. Default: 10m.
	Lifetime Duration `yaml:"lifetime"`

	// CredentialTTL is how long the REST credentials given to the web
	// phone stay valid, 1m to 30 days. Default: 24h.
	CredentialTTL Duration `yaml:"credential_ttl"`

	// Limits bound what one source may send.
	Limits TURNLimits `yaml:"limits"`
}

// TURNUser is a static TURN user.
type TURNUser struct {
	// Username is required, 1 to 64 characters without ':'.
	Username string `yaml:"username"`
	// Password is required.
	Password string `yaml:"password"`
}

// TURNLimits bound floods against the STUN/TURN listeners.
type TURNLimits struct {
	// RequestsPerSecond is the sustained rate of STUN requests per source
	// IP address (relayed data is not counted): over it, UDP requests are
	// dropped and TCP/TLS connections closed; 0 turns it off. Default: 200.
	RequestsPerSecond int `yaml:"requests_per_second"`
	// Burst is how many requests may arrive at once. Default: 400.
	Burst int `yaml:"burst"`
	// MaxConnections caps TCP and TLS connections in all; 0 is no cap.
	// Default: 4096.
	MaxConnections int `yaml:"max_connections"`
	// MaxConnectionsPerIP caps them per source IP address; 0 is no cap.
	// Default: 64.
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
}

// defaultTURN returns the turn defaults.
func defaultTURN() TURN {
	return TURN{
		Enabled:       true,
		Listen:        []string{"udp://0.0.0.0:3478", "tcp://0.0.0.0:3478", "tls://0.0.0.0:5349"},
		PortMin:       50000,
		PortMax:       59999,
		UserQuota:     10,
		TotalQuota:    2000,
		MaxBitrate:    5_000_000,
		Lifetime:      Duration(10 * time.Minute),
		CredentialTTL: Duration(24 * time.Hour),
		Limits:        TURNLimits{RequestsPerSecond: 200, Burst: 400, MaxConnections: 4096, MaxConnectionsPerIP: 64},
	}
}

// TURNRealm returns turn.realm, or the digest realm.
func (c *Config) TURNRealm() string {
	if c.TURN.Realm != "" {
		return c.TURN.Realm
	}
	return c.Realm()
}

// TURNAllowPeers returns turn.allow_peers parsed and masked.
func (c *Config) TURNAllowPeers() []netip.Prefix { return prefixes(c.TURN.AllowPeers) }

// ParseTURNListener splits a turn.listen URL into scheme (udp, tcp, tls,
// dtls) and host:port.
func ParseTURNListener(s string) (scheme, hostport string, ok bool) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "udp" && u.Scheme != "tcp" && u.Scheme != "tls" && u.Scheme != "dtls") {
		return "", "", false
	}
	if u.Host == "" || u.Port() == "" || u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", "", false
	}
	if p, err := strconv.Atoi(u.Port()); err != nil || p < 0 || p > 65535 {
		return "", "", false
	}
	if h := u.Hostname(); h != "" && net.ParseIP(h) == nil && !validHost(h) {
		return "", "", false
	}
	return u.Scheme, u.Host, true
}

func (d *decoder) validateTURN(c *Config) {
	t := &c.TURN
	if t.Enabled && len(t.Listen) == 0 {
		d.errorf("turn.listen", "at least one listener is required while turn.enabled is true")
	}
	seen := map[string]int{}
	for i, l := range t.Listen {
		scheme, hp, ok := ParseTURNListener(l)
		if !ok {
			d.errorf(index("turn.listen", i), "%q is not a listener: use udp://host:port, tcp://host:port, tls://host:port or dtls://host:port", l)
			continue
		}
		fam := "udp"
		if scheme == "tcp" || scheme == "tls" {
			fam = "tcp"
		}
		if j, dup := seen[fam+hp]; dup && !strings.HasSuffix(hp, ":0") { // port 0: each its own
			d.errorf(index("turn.listen", i), "%q takes the same port as turn.listen[%d]", l, j)
		}
		seen[fam+hp] = i
	}
	if t.Secret != "" && len(t.Secret) < 16 {
		d.errorf("turn.secret", "is too short: use at least 16 characters (or leave it out for a random one)")
	}
	users := map[string]int{}
	for i, u := range t.Users {
		p := index("turn.users", i)
		switch {
		case u.Username == "" || len(u.Username) > 64:
			d.errorf(p+".username", "must be 1 to 64 characters")
		case containsColon(u.Username):
			d.errorf(p+".username", "%q must not contain ':' (REST usernames are expiry:user)", u.Username)
		}
		if j, dup := users[u.Username]; dup {
			d.errorf(p+".username", "duplicate user %q (also turn.users[%d])", u.Username, j)
		}
		users[u.Username] = i
		if u.Password == "" {
			d.errorf(p+".password", "must not be empty")
		}
	}
	for _, k := range []struct{ key, v string }{{"turn.relay_address", t.RelayAddress}, {"turn.relay_bind", t.RelayBind}} {
		if k.v == "" {
			continue
		}
		if a, err := netip.ParseAddr(k.v); err != nil {
			d.errorf(k.key, "%q is not an IP address", k.v)
		} else if k.key == "turn.relay_address" && a.IsUnspecified() {
			d.errorf(k.key, "%q is not an address a client can send to", k.v)
		}
	}
	if t.PublicHost != "" && !validHost(t.PublicHost) {
		d.errorf("turn.public_host", "%q is not a valid host name or IP address", t.PublicHost)
	}
	d.validateTURNPorts(c)
	for i, s := range t.AllowPeers {
		p, err := parsePrefix(s)
		if err != nil {
			d.errorf(index("turn.allow_peers", i), "%v", err)
			continue
		}
		for _, risky := range riskyPeers {
			if p.Contains(risky.addr) {
				d.warnf(index("turn.allow_peers", i), "%s holds %s (%s): TURN clients could reach it through the relay", p, risky.addr, risky.what)
				break
			}
		}
	}
	for _, k := range []struct {
		key string
		v   int64
	}{{"turn.user_quota", int64(t.UserQuota)}, {"turn.total_quota", int64(t.TotalQuota)}, {"turn.max_bitrate", int64(t.MaxBitrate)},
		{"turn.limits.requests_per_second", int64(t.Limits.RequestsPerSecond)}, {"turn.limits.burst", int64(t.Limits.Burst)},
		{"turn.limits.max_connections", int64(t.Limits.MaxConnections)},
		{"turn.limits.max_connections_per_ip", int64(t.Limits.MaxConnectionsPerIP)}} {
		if k.v < 0 {
			d.errorf(k.key, "%d must not be negative (0 is no limit)", k.v)
		}
	}
	if t.Limits.RequestsPerSecond > 0 && t.Limits.Burst < 1 {
		d.errorf("turn.limits.burst", "must be at least 1 while requests_per_second is set")
	}
	if l := t.Lifetime.D(); l < time.Minute || l > time.Hour {
		d.errorf("turn.lifetime", "%s is out of range: must be from 1m to 1h", l)
	}
	if l := t.CredentialTTL.D(); l < time.Minute || l > 30*24*time.Hour {
		d.errorf("turn.credential_ttl", "%s is out of range: must be from 1m to 720h", l)
	}
}

func (d *decoder) validateTURNPorts(c *Config) {
	t := &c.TURN
	if t.PortMin == 0 && t.PortMax == 0 {
		return
	}
	if t.PortMin < 1024 || t.PortMin > 65535 {
		d.errorf("turn.port_min", "%d is out of range: must be from 1024 to 65535 (or 0 with port_max 0)", t.PortMin)
		return
	}
	if t.PortMax < t.PortMin || t.PortMax > 65535 {
		d.errorf("turn.port_max", "%d is out of range: must be from port_min %d to 65535", t.PortMax, t.PortMin)
		return
	}
	mediaValid := c.Media.PortMin >= 1024 && c.Media.PortMax <= 65535 && c.Media.PortMin < c.Media.PortMax
	if t.Enabled && mediaValid && t.PortMin <= c.Media.PortMax && c.Media.PortMin <= t.PortMax {
		d.errorf("turn.port_min", "%d-%d overlaps media's %d-%d: the RTP relay and TURN would take each other's ports",
			t.PortMin, t.PortMax, c.Media.PortMin, c.Media.PortMax)
	}
}

// riskyPeers are addresses turn.allow_peers is warned about opening.
var riskyPeers = []struct {
	addr netip.Addr
	what string
}{
	{netip.MustParseAddr("127.0.0.1"), "this host's loopback"},
	{netip.MustParseAddr("::1"), "this host's loopback"},
	{netip.MustParseAddr("169.254.169.254"), "cloud instance metadata"},
	{netip.MustParseAddr("fd00:ec2::254"), "cloud instance metadata"},
}

func containsColon(s string) bool {
	for i := range len(s) {
		if s[i] == ':' {
			return true
		}
	}
	return false
}
