package config

import (
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

var (
	usernameRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$`)
	extensionRE = regexp.MustCompile(`^[0-9*#+]{1,32}$`)
)

// ValidUsername reports whether s is a valid username: 1 to 64 letters,
// digits and . _ + -, starting with a letter or digit.
func ValidUsername(s string) bool { return usernameRE.MatchString(s) }

// Allowed values, in the order they are listed in messages.
var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
	algorithms = []string{"SHA-256", "MD5"}
)

// validate checks c, whose defaults are filled in, and records every
// problem at the line of the offending key.
func (d *decoder) validate(c *Config) {
	d.validateTop(c)
	d.validateSIP(c)
	d.validateRegistrar(&c.Registrar)
	d.validateSecurity(&c.Security)
	d.validateUsers(c.Users)
	d.validateDNS(&c.DNS)
	d.validateTrunks(c.Trunks)
	d.validateMedia(c) // media.go: also trunks[].media_interface
	d.validateWebRTC(&c.WebRTC, &c.Media)
	d.validateCalls(&c.Calls)
	d.validateRecords(&c.Records)
	d.validateNumbering(c)
	d.validateCTI(&c.CTI)
	d.validateGatewayCTI(&c.GatewayCTI)
	d.validateCallPolicy(c)
	d.validateTURN(c)
	d.validateAccounts(c) // accounts.go
	d.validateAttendant(&c.Attendant)
}

func (d *decoder) validateTop(c *Config) {
	if len(c.Domain) == 0 {
		d.errorf("domain", "at least one domain is required")
	}
	seen := map[string]int{}
	for i, dom := range c.Domain {
		p := index("domain", i)
		if n := d.nodes["domain"]; n != nil && n.Kind == yaml.ScalarNode {
			p = "domain"
		}
		if !validHost(dom) {
			d.errorf(p, "%q is not a valid host name or IP address", dom)
			continue
		}
		k := strings.ToLower(dom)
		if j, dup := seen[k]; dup {
			d.errorf(p, "duplicate domain %q (also domain[%d])", dom, j)
		}
		seen[k] = i
	}
	if c.DataDir == "" {
		d.errorf("data_dir", "must not be empty")
	}
	if c.DataDir != "" || c.Store != "" {
		d.validateStore(c.Store)
	}
	d.oneOf("log.level", c.Log.Level, logLevels)
	d.oneOf("log.format", c.Log.Format, logFormats)
}

// validateStore accepts a file path or a postgres:// or postgresql:// URL.
func (d *decoder) validateStore(s string) {
	scheme, _, isURL := strings.Cut(s, "://")
	switch {
	case s == "":
		d.errorf("store", "must not be empty")
	case !isURL:
	case scheme != "postgres" && scheme != "postgresql":
		d.errorf("store", "unsupported URL scheme %q: use a file path or a postgres:// URL", scheme)
	default:
		if _, err := url.Parse(s); err != nil {
			// url.Error would print the URL, and with it the password.
			d.errorf("store", "not a valid postgres URL")
		}
	}
}

// bound is a listening socket, for finding two that would collide.
type bound struct {
	key    string // config key, as sip.listen[1]
	desc   string // what the operator wrote
	family string // udp or tcp
	host   netip.Addr
	name   string // host name, when not an IP address
	port   int
}

// overlaps reports whether a and b cannot both be bound.
func (a bound) overlaps(b bound) bool {
	if a.family != b.family || a.port != b.port || a.port == 0 {
		return false
	}
	wild := func(x bound) bool { return x.name == "" && (!x.host.IsValid() || x.host.IsUnspecified()) }
	return wild(a) || wild(b) || a.name == b.name && a.host == b.host
}

func newBound(key, desc, family, host string, port int) bound {
	b := bound{key: key, desc: desc, family: family, port: port}
	if a, err := netip.ParseAddr(host); err == nil {
		b.host = a.Unmap()
	} else {
		b.name = strings.ToLower(host)
	}
	return b
}

func (d *decoder) validateSIP(c *Config) {
	s := &c.SIP
	var socks []bound
	if len(s.Listen) == 0 {
		d.errorf("sip.listen", "at least one listener is required")
	}
	for i, raw := range s.Listen {
		p := index("sip.listen", i)
		l, err := ParseListener(raw)
		if err != nil {
			d.errorf(p, "%q: %v", raw, err)
			continue
		}
		socks = append(socks, newBound(p, raw, l.Network(), l.Host, l.Port))
	}
	if c.HTTP.Listen != "" {
		host, port, err := parseHostPort(c.HTTP.Listen)
		if err != nil {
			d.errorf("http.listen", "%q: %v", c.HTTP.Listen, err)
		} else {
			socks = append(socks, newBound("http.listen", c.HTTP.Listen, "tcp", host, port))
		}
	}
	byPort := map[int][]bound{} // only sockets on one port can collide
	for _, b := range socks {
		if d.full {
			break
		}
		for _, a := range byPort[b.port] {
			if a.overlaps(b) {
				d.errorf(b.key, "%s uses %s port %d, as does %s (%s)",
					b.desc, strings.ToUpper(b.family), b.port, a.key, a.desc)
				break
			}
		}
		byPort[b.port] = append(byPort[b.port], b)
	}
	d.validateTLS("sip.tls", s.TLS)
	d.validateTLS("http.tls", c.HTTP.TLS)
	d.validateAPIAllow(c.HTTP.APIAllow)
	switch {
	case s.ServerName == "":
		d.errorf("sip.server_name", "must not be empty")
	case !printable(s.ServerName):
		d.errorf("sip.server_name", "must not contain control characters")
	}
	if s.MaxMessageSize < 1500 || s.MaxMessageSize > 65535 { // sipgo parses at most 65535 bytes
		d.errorf("sip.max_message_size", "%d is out of range: must be from 1500 to 65535", s.MaxMessageSize)
	}
	d.nonNegative("sip.ws_ping_interval", s.WSPingInterval)
	for i, o := range s.WSOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			d.errorf(index("sip.ws_origins", i), "%q is not a web origin: want scheme://host[:port], as https://console.example.com", o)
		}
	}
	if a := s.PublicAddress; a != "" && !validHost(a) {
		d.errorf("sip.public_address", "%q is not a host name or IP address (no port)", a)
	}
	d.validateLimits(&s.Limits)
}

// validateTLS checks that both cert and key are given, or neither.
func (d *decoder) validateTLS(path string, t TLS) {
	switch {
	case t.Cert != "" && t.Key == "":
		d.errorf(path+".key", "is required when cert is given")
	case t.Cert == "" && t.Key != "":
		d.errorf(path+".cert", "is required when key is given")
	}
}

func (d *decoder) validateRegistrar(r *Registrar) {
	const (
		pMin = "registrar.min_expires"
		pDef = "registrar.default_expires"
		pMax = "registrar.max_expires"
	)
	if r.MinExpires < 1 {
		d.errorf(pMin, "%d must be at least 1", r.MinExpires)
	}
	// lo must not exceed hi. Blame the key the operator wrote; when both
	// or neither were written, blame the one named by blameHi.
	order := func(lo, hi string, loV, hiV int, blameHi bool) {
		if d.has(hi) != d.has(lo) {
			blameHi = d.has(hi)
		}
		if blameHi {
			d.errorf(hi, "%d is less than %s (%d)", hiV, short(lo), loV)
		} else {
			d.errorf(lo, "%d is greater than %s (%d)", loV, short(hi), hiV)
		}
	}
	switch {
	case r.MinExpires > r.MaxExpires:
		order(pMin, pMax, r.MinExpires, r.MaxExpires, true)
	case r.DefaultExpires < r.MinExpires:
		order(pMin, pDef, r.MinExpires, r.DefaultExpires, true)
	case r.DefaultExpires > r.MaxExpires:
		order(pDef, pMax, r.DefaultExpires, r.MaxExpires, false)
	}
	if r.MaxContacts < 1 {
		d.errorf("registrar.max_contacts", "%d must be at least 1", r.MaxContacts)
	}
	if r.Realm != "" && (!printable(r.Realm) || strings.ContainsAny(r.Realm, `"\`)) {
		d.errorf("registrar.realm", "must not contain quotes, backslashes or control characters")
	}
	if r.NonceTTL <= 0 {
		d.errorf("registrar.nonce_ttl", "%s must be more than 0", r.NonceTTL)
	}
	d.validatePrefixes("registrar.edge_proxies", r.EdgeProxies)
	if len(r.Algorithms) == 0 {
		d.errorf("registrar.algorithms", "at least one algorithm is required")
	}
	for i, a := range r.Algorithms {
		p := index("registrar.algorithms", i)
		if d.oneOf(p, a, algorithms) {
			if j := slices.Index(r.Algorithms[:i], a); j >= 0 {
				d.errorf(p, "duplicate algorithm %q (also registrar.algorithms[%d])", a, j)
			}
		}
	}
}

func (d *decoder) validateSecurity(s *Security) {
	rl := s.RateLimit
	if rl.RequestsPerSecond < 0 {
		d.errorf("security.rate_limit.requests_per_second", "%d must not be negative", rl.RequestsPerSecond)
	}
	if rl.Burst < 0 || rl.RequestsPerSecond > 0 && rl.Burst < 1 {
		d.errorf("security.rate_limit.burst", "%d must be at least 1 when rate limiting is on", rl.Burst)
	}
	b := s.Ban
	if b.Failures < 0 {
		d.errorf("security.ban.failures", "%d must not be negative", b.Failures)
	}
	for _, f := range []struct {
		path string
		v    Duration
	}{{"security.ban.window", b.Window}, {"security.ban.duration", b.Duration}} {
		if b.Failures > 0 && f.v == 0 {
			d.errorf(f.path, "must be more than 0 when banning is on (failures > 0)")
		} else {
			d.nonNegative(f.path, f.v)
		}
	}
	if b.ScanUsers < 0 || b.ScanUsers > 16 {
		d.errorf("security.ban.scan_users", "%d must be between 0 and 16", b.ScanUsers)
	}
	if len(s.Trusted) > 0 {
		d.errorf("security.trusted", "is no longer accepted: it meant two things. Use security.trusted_callers "+
			"for hosts whose calls to local users need no credentials (a PBX or SBC that is not a trunk), "+
			"and security.exempt_sources for hosts never rate-limited or banned (trunk targets never are)")
	}
	d.validatePrefixes("security.trusted_callers", s.TrustedCallers)
	d.validatePrefixes("security.exempt_sources", s.ExemptSources)
}

// validatePrefixes checks a list of CIDR prefixes or bare addresses, and
// warns about prefixes wider than /24 (IPv6 /64): trust is for hosts.
func (d *decoder) validatePrefixes(path string, list []string) {
	for i, t := range list {
		p, err := parsePrefix(t)
		if err != nil {
			d.errorf(index(path, i), "%v", err)
			continue
		}
		limit := 24
		if p.Addr().Is6() {
			limit = 64
		}
		if p.Bits() < limit {
			d.warnf(index(path, i), "%s is wider than /%d: every host in it is trusted; list single hosts where you can", p, limit)
		}
	}
}

func (d *decoder) validateUsers(users []User) {
	names := map[string]int{}
	exts := map[string]int{}
	for i, u := range users {
		p := index("users", i)
		switch j, dup := names[u.Username]; {
		case u.Username == "":
			d.errorf(p+".username", "is required")
		case !ValidUsername(u.Username):
			d.errorf(p+".username", "%q is not a valid username: use 1 to 64 letters, digits and . _ + -, starting with a letter or digit", u.Username)
		case dup:
			d.errorf(p+".username", "duplicate username %q (also users[%d])", u.Username, j)
		default:
			names[u.Username] = i
		}
		if u.Password == "" {
			d.errorf(p+".password", "must not be empty")
		}
		if !printable(u.DisplayName) {
			d.errorf(p+".display_name", "must not contain control characters")
		}
		switch j, dup := exts[u.Extension]; {
		case u.Extension == "":
		case !extensionRE.MatchString(u.Extension):
			d.errorf(p+".extension", "%q is not a valid extension: use 1 to 32 of 0-9 * # +", u.Extension)
		case dup:
			d.errorf(p+".extension", "duplicate extension %q (also users[%d])", u.Extension, j)
		default:
			exts[u.Extension] = i
		}
		for _, kv := range [][2]string{{"busy", u.Divert.Busy}, {"no_answer", u.Divert.NoAnswer}} {
			if kv[1] != "" && !extensionRE.MatchString(kv[1]) {
				d.errorf(p+".divert."+kv[0], "%q is not a valid number: use 1 to 32 of 0-9 * # +", kv[1])
			}
		}
		if u.Divert.NoAnswerTimeout.D() < 0 {
			d.errorf(p+".divert.no_answer_timeout", "must not be negative")
		}
	}
}

// oneOf checks that v is one of allowed, and reports whether it is.
func (d *decoder) oneOf(path, v string, allowed []string) bool {
	if slices.Contains(allowed, v) {
		return true
	}
	d.errorf(path, "%q is not allowed: use %s", v, strings.Join(allowed, ", "))
	return false
}

// nonNegative checks that a duration is not negative.
func (d *decoder) nonNegative(path string, v Duration) {
	if v < 0 {
		d.errorf(path, "%s must not be negative", v)
	}
}

// printable reports whether s holds no control characters.
func printable(s string) bool {
	return !strings.ContainsFunc(s, unicode.IsControl)
}

// index returns path[i].
func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// short returns the last key of a dotted path.
func short(path string) string { return path[strings.LastIndexByte(path, '.')+1:] }
