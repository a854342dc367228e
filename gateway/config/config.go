// Package config loads Switchboard's one YAML configuration file.
//
// Decoding is strict: unknown keys, duplicate keys and values of the wrong
// type are errors. Every problem in a file is reported at once, each with
// the file, line and dotted key path (sip.listen[2], users[3].password).
// After decoding, defaults are filled in and the result is validated; the
// package never listens, creates files or touches the network.
//
// The field comments below are the user documentation; reference.md is the
// same text for operators. Keep both in step.
package config

import (
	"net/netip"
	"path/filepath"
	"time"
)

// Config is the whole configuration file.
type Config struct {
	// Domain is the SIP domain, or list of domains, that this gateway serves.
	// Each must be a valid hostname or IP address. Default: localhost.
	Domain StringList `yaml:"domain"`

	// DataDir is where the SQLite file, certificates and the nonce secret
	// live. Default: ./var.
	DataDir string `yaml:"data_dir"`

	// Store is a file path (SQLite) or a postgres:// or postgresql:// URL.
	// Default: <data_dir>/switchboard.db.
	Store string `yaml:"store"`

	// Log configures logging.
	Log Log `yaml:"log"`

	// SIP configures the SIP listeners.
	SIP SIP `yaml:"sip"`

	// Registrar configures registration and digest authentication.
	Registrar Registrar `yaml:"registrar"`

	// Security configures flood protection.
	Security Security `yaml:"security"`

	// HTTP configures the HTTPS admin API, health checks and metrics.
	HTTP HTTP `yaml:"http"`

	// Users are optional inline users, loaded into the store at start.
	// Default: none.
	Users []User `yaml:"users"`

	// DNS configures how trunk targets are resolved (RFC 3263).
	DNS DNS `yaml:"dns"`

	// Trunks are the next hops calls go to, such as the PBX.
	// Default: none.
	Trunks []Trunk `yaml:"trunks"`

	// Media configures the RTP relay of calls.
	Media Media `yaml:"media"`
	// WebRTC configures the browsers' media bridge (webrtc.go).
	WebRTC WebRTC `yaml:"webrtc"`

	// Calls configures answered calls: session timers.
	Calls Calls `yaml:"calls"`

	// Records configures call detail records and call history retention.
	Records Records `yaml:"records"`

	// Numbering configures number normalisation towards the trunks.
	Numbering Numbering `yaml:"numbering"`

	// CTI configures the CTI drivers (PBX call control and monitoring).
	CTI CTI `yaml:"cti"`
	// GatewayCTI configures the gateway's own users and calls as a CTI source.
	GatewayCTI GatewayCTI `yaml:"gateway_cti"`

	// TURN configures the STUN/TURN server (turn.go).
	TURN TURN `yaml:"turn"`

	// Accounts configures HTTPS logins and sessions (accounts.go).
	Accounts Accounts `yaml:"accounts"`
	// Operators configures pause reasons and the panic button (accounts.go).
	Operators Operators `yaml:"operators"`
	// Attendant configures the attendant API (attendant.go).
	Attendant Attendant `yaml:"attendant"`

	warnings Errors // Warnings

	// CallPolicy configures call admission: classes of service, the
	// destination deny-list, call and ringing caps.
	CallPolicy CallPolicy `yaml:"call_policy"`
}

// Log configures logging.
type Log struct {
	// Level is the lowest level logged: debug, info, warn or error.
	// Default: info.
	Level string `yaml:"level"`

	// Format is text or json. Default: text.
	Format string `yaml:"format"`
}

// SIP configures the SIP side of the gateway.
type SIP struct {
	// Listen lists the SIP listeners as URLs: scheme://host:port[/path].
	// Schemes are udp, tcp, tls, ws and wss. The port is required (0 picks
	// a free port, for tests). The host is an IP address, a hostname or
	// empty (all interfaces); write IPv6 addresses in brackets, as
	// [::]:5060. ws and wss take a path, /ws when omitted; the other
	// schemes take none. Two listeners may not share a transport family
	// (UDP, or TCP for tcp/tls/ws/wss), host and port; an unspecified host
	// (empty, 0.0.0.0, [::]) overlaps every host.
	// Default: [udp://0.0.0.0:5060, tcp://0.0.0.0:5060,
	// tls://0.0.0.0:5061, wss://0.0.0.0:8089/ws].
	Listen []string `yaml:"listen"`

	// TLS is the certificate for tls and wss listeners. Give both cert and
	// key or neither; with neither, a self-signed certificate is made in
	// data_dir at first start.
	TLS TLS `yaml:"tls"`

	// ServerName is the value of the Server and User-Agent headers.
	// Default: Switchboard.
	ServerName string `yaml:"server_name"`

	// MaxMessageSize is the largest SIP message accepted, in bytes; larger
	// requests get 513 Message Too Large. Between 1500 and 65535.
	// Default: 65535.
	MaxMessageSize int `yaml:"max_message_size"`

	// WSPingInterval is how often idle WebSocket clients are pinged; 0
	// disables pings. Default: 30s.
	WSPingInterval Duration `yaml:"ws_ping_interval"`

	// WSOrigins, when set, are the only web origins (scheme://host[:port])
	// whose pages may open a SIP WebSocket: a browser's upgrade request
	// with another Origin gets 403 (RFC 6455 §10.2). Requests without an
	// Origin (phones, not browsers) are not affected. Default: empty (any
	// origin).
	WSOrigins []string `yaml:"ws_origins"`

	// PublicAddress is the host name or IP address advertised in Via,
	// Contact and Path headers when the gateway is behind NAT. No port.
	// Default: empty (advertise the listener address).
	PublicAddress string `yaml:"public_address"`

	// Limits bound pools, caches and connections under flood.
	Limits Limits `yaml:"limits"`
}

// TLS names a certificate and its private key, both PEM files.
type TLS struct {
	// Cert is the certificate chain file.
	Cert string `yaml:"cert"`
	// Key is the private key file.
	Key string `yaml:"key"`
}

// IsZero reports whether neither file is given.
func (t TLS) IsZero() bool { return t.Cert == "" && t.Key == "" }

// Registrar configures registrations and digest authentication.
type Registrar struct {
	// DefaultExpires is the registration lifetime in seconds when the phone
	// asks for none. Must lie between min_expires and max_expires.
	// Default: 3600.
	DefaultExpires int `yaml:"default_expires"`

	// MinExpires is the shortest registration lifetime in seconds accepted;
	// shorter requests get 423 Interval Too Brief (RFC 3261 §10.3). At
	// least 1. Default: 60.
	MinExpires int `yaml:"min_expires"`

	// MaxExpires is the longest registration lifetime in seconds; longer
	// requests are cut down to it. Default: 7200.
	MaxExpires int `yaml:"max_expires"`

	// MaxContacts is the most contacts one address of record may hold.
	// At least 1. Default: 10.
	MaxContacts int `yaml:"max_contacts"`

	// Realm is the digest authentication realm. Default: the first domain.
	Realm string `yaml:"realm"`

	// NonceTTL is the nonce lifetime; older nonces are answered with
	// stale=true. Must be more than 0. Default: 5m.
	NonceTTL Duration `yaml:"nonce_ttl"`

	// Algorithms are the digest algorithms offered, in order of preference
	// (RFC 8760). Allowed: SHA-256, MD5. Default: [MD5, SHA-256]: MD5 first,
	// because clients that read only the first challenge (SIPp, libre,
	// many desk phones) cannot answer SHA-256; [SHA-256] requires it.
	Algorithms []string `yaml:"algorithms"`

	// RequireQOP refuses digest credentials without qop=auth (RFC 2069
	// style), which carry no nonce count and so can be replayed while
	// their nonce is fresh (RFC 7616 §3.4). Set false only for old phones
	// that cannot send qop. Default: true.
	RequireQOP bool `yaml:"require_qop"`

	// CheckDigestURI requires the uri of digest credentials to name the
	// Request-URI (RFC 3261 §22.4, RFC 2617 §3.2.2.5; else 400). Set false
	// only for clients that compute it from something else, such as SIPp
	// without -auth_uri (it uses the server's address). Default: true.
	CheckDigestURI bool `yaml:"check_digest_uri"`

	// EdgeProxies lists the networks (CIDR or a bare IP address) of edge
	// proxies whose Path header (RFC 3327) a REGISTER may carry: calls to
	// the user are then routed through that path. A Path from any other
	// source is ignored (not stored, not echoed), so nobody can route a
	// user's calls through a host of their choosing. Default: none.
	EdgeProxies []string `yaml:"edge_proxies"`
}

// Security configures flood protection and banning.
type Security struct {
	// RateLimit limits requests per source IP address.
	RateLimit RateLimit `yaml:"rate_limit"`

	// Ban bans source IP addresses that fail authentication repeatedly.
	Ban Ban `yaml:"ban"`

	// TrustedCallers lists networks (CIDR, as 10.0.0.0/8; a bare IP
	// address means that one address) whose INVITEs may call local users
	// without proxy authentication, as a trunk's do; a From naming one of
	// our users must still authenticate. Give single hosts (a PBX or SBC
	// not configured as a trunk): prefixes wider than /24 (IPv6 /64) are
	// warned about. They are still rate-limited and may be banned (see
	// ExemptSources). Default: none.
	TrustedCallers []string `yaml:"trusted_callers"`

	// ExemptSources lists networks (CIDR or a bare IP address) never
	// rate-limited, connection-limited or banned, such as a monitoring
	// host. Trunk targets are never banned anyway. Prefixes wider than /24
	// (IPv6 /64) are warned about. Default: none.
	ExemptSources []string `yaml:"exempt_sources"`

	// Trusted is no longer accepted: it meant both of the above. Loading a
	// file that sets it is an error naming the keys to use instead.
	Trusted []string `yaml:"trusted"`
}

// RateLimit is a token bucket per source IP address.
type RateLimit struct {
	// RequestsPerSecond is the sustained rate allowed; 0 disables rate
	// limiting. Default: 500.
	RequestsPerSecond int `yaml:"requests_per_second"`

	// Burst is how many requests may arrive at once; at least 1 when rate
	// limiting is on. Default: 1000.
	Burst int `yaml:"burst"`
}

// Ban bans a source IP address after repeated authentication failures.
type Ban struct {
	// Failures is how many authentication failures from one source IP
	// address within Window get it banned; 0 disables banning. Default: 10.
	Failures int `yaml:"failures"`

	// Window is the period in which failures are counted; more than 0 when
	// banning is on. Default: 1m.
	Window Duration `yaml:"window"`

	// Duration is how long a ban lasts; more than 0 when banning is on.
	// Default: 15m.
	Duration Duration `yaml:"duration"`

	// ScanUsers distinct usernames failing authentication (or unknown,
	// asked over TCP/TLS/WS) from one source within Window ban it as a
	// scanner; 0 disables this rule. At most 16. Default: 10.
	ScanUsers int `yaml:"scan_users"`
}

// HTTP configures the HTTPS server for the admin API, health and metrics.
type HTTP struct {
	// Listen is host:port to listen on; "" disables the HTTPS server.
	// Default: 0.0.0.0:8443.
	Listen string `yaml:"listen"`

	// TLS is the certificate for the HTTPS server. Give both cert and key
	// or neither. Default: the same as sip.tls.
	TLS TLS `yaml:"tls"`

	// APIAllow lists the sources (CIDR, or a bare IP address) the API
	// (/api/, /debug/) answers at all; others get 403 even with valid
	// credentials. Every API route also needs an account. Health and
	// metrics are not affected. Default: [0.0.0.0/0, ::/0] (any).
	APIAllow []string `yaml:"api_allow"`
}

// User is an inline user, loaded into the store at start.
type User struct {
	// Username is required: 1 to 64 characters, letters, digits and
	// . _ + -, starting with a letter or digit. Unique among inline users.
	Username string `yaml:"username"`

	// Password is required and must not be empty.
	Password string `yaml:"password"`

	// DisplayName is shown to the called party. Optional.
	DisplayName string `yaml:"display_name"`

	// Extension is the user's dialable number: 1 to 32 of 0-9 * # +.
	// Optional; unique among inline users.
	Extension string `yaml:"extension"`

	// Divert sends the user's calls elsewhere when busy or unanswered
	// (typically the voicemail pilot on the PBX). Optional.
	Divert Divert `yaml:"divert"`

	// Class is the user's class of service (call_policy.classes or a
	// built-in class). Default: call_policy.default_class.
	Class string `yaml:"class"`
}

// Divert is a user's call diversion: numbers dialled as if by the caller.
type Divert struct {
	// Busy receives calls when every device is busy or none is
	// registered. "" = none.
	Busy string `yaml:"busy"`
	// NoAnswer receives calls nobody answered within NoAnswerTimeout.
	// "" = none.
	NoAnswer string `yaml:"no_answer"`
	// NoAnswerTimeout is how long the devices ring first. Default: 20s.
	NoAnswerTimeout Duration `yaml:"no_answer_timeout"`
}

// Default returns the configuration used when no file is given.
func Default() *Config {
	c := base()
	c.fill()
	return c
}

// base returns the defaults that do not depend on other keys. A file is
// decoded on top of it; fill then derives the rest.
func base() *Config {
	return &Config{
		Domain:  StringList{"localhost"},
		DataDir: "./var",
		Log:     Log{Level: "info", Format: "text"},
		SIP: SIP{
			Listen: []string{
				"udp://0.0.0.0:5060",
				"tcp://0.0.0.0:5060",
				"tls://0.0.0.0:5061",
				"wss://0.0.0.0:8089/ws",
			},
			ServerName:     "Switchboard",
			MaxMessageSize: 65535,
			WSPingInterval: Duration(30 * time.Second),
			Limits:         defaultLimits(),
		},
		Registrar: Registrar{
			DefaultExpires: 3600,
			MinExpires:     60,
			MaxExpires:     7200,
			MaxContacts:    10,
			NonceTTL:       Duration(5 * time.Minute),
			Algorithms:     []string{"MD5", "SHA-256"},
			RequireQOP:     true,
			CheckDigestURI: true,
		},
		Security: Security{
			RateLimit: RateLimit{RequestsPerSecond: 500, Burst: 1000},
			Ban: Ban{
				Failures:  10,
				Window:    Duration(time.Minute),
				Duration:  Duration(15 * time.Minute),
				ScanUsers: 10,
			},
		},
		HTTP:      HTTP{Listen: "0.0.0.0:8443", APIAllow: append([]string(nil), defaultAPIAllow...)},
		DNS:       defaultDNS(),
		Media:     defaultMedia(),
		WebRTC:    defaultWebRTC(),
		Calls:     defaultCalls(),
		Records:   defaultRecords(),
		Numbering: defaultNumbering(),

		CallPolicy: defaultCallPolicy(),
		GatewayCTI: defaultGatewayCTI(),
		TURN:       defaultTURN(),
		Accounts:   defaultAccounts(),
		Operators:  defaultOperators(),
		Attendant:  defaultAttendant(),
	}
}

// fill sets the defaults that derive from other keys.
func (c *Config) fill() {
	if c.Store == "" && c.DataDir != "" {
		c.Store = filepath.Join(c.DataDir, "switchboard.db")
	}
	if c.HTTP.TLS.IsZero() {
		c.HTTP.TLS = c.SIP.TLS
	}
}

// Domains returns the SIP domains served, in the order given.
func (c *Config) Domains() []string {
	return append([]string(nil), c.Domain...)
}

// Realm returns the digest realm: registrar.realm, or the first domain.
func (c *Config) Realm() string {
	if c.Registrar.Realm != "" {
		return c.Registrar.Realm
	}
	if len(c.Domain) > 0 {
		return c.Domain[0]
	}
	return "localhost"
}

// Listeners returns sip.listen parsed. Entries that do not parse are
// skipped; a validated Config has none.
func (c *Config) Listeners() []Listener {
	ls := make([]Listener, 0, len(c.SIP.Listen))
	for _, s := range c.SIP.Listen {
		if l, err := ParseListener(s); err == nil {
			ls = append(ls, l)
		}
	}
	return ls
}

// TrustedCallerPrefixes returns security.trusted_callers parsed and
// masked; a bare IP address becomes a /32 or /128. Entries that do not
// parse are skipped; a validated Config has none.
func (c *Config) TrustedCallerPrefixes() []netip.Prefix { return prefixes(c.Security.TrustedCallers) }

// ExemptPrefixes returns security.exempt_sources parsed and masked.
func (c *Config) ExemptPrefixes() []netip.Prefix { return prefixes(c.Security.ExemptSources) }

// EdgeProxyPrefixes returns registrar.edge_proxies parsed and masked.
func (c *Config) EdgeProxyPrefixes() []netip.Prefix { return prefixes(c.Registrar.EdgeProxies) }

func prefixes(list []string) []netip.Prefix {
	ps := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		if p, err := parsePrefix(s); err == nil {
			ps = append(ps, p)
		}
	}
	return ps
}
