package avaya

import (
	"net"
	"strconv"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/avaya/dmcc"
	"github.com/switchboard-gw/switchboard/drivers/driverconf"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// Config is the avaya driver's config section, handed to Start as JSON.
// Unknown keys are errors. Durations are Go duration strings ("180s") or
// whole seconds.
type Config struct {
	// Address is AE Services' host[:port]. The port defaults to 4721, or
	// 4722 with TLS (cti-protocols.md §3.1).
	Address string `json:"address"`
	// TLS turns TLS on (default off; newer AES releases may only offer
	// 4722).
	TLS bool `json:"tls"`
	// TLSServerName is the name the AES certificate is checked against
	// (default: Address's host).
	TLSServerName string `json:"tls_server_name"`
	// TLSCAFile is a PEM file of the CAs the AES certificate is checked
	// against (default: the system roots).
	TLSCAFile string `json:"tls_ca_file"`
	// TLSInsecureSkipVerify skips certificate checks (lab use only).
	TLSInsecureSkipVerify bool `json:"tls_insecure_skip_verify"`
	// User and Password are the AE Services CTI user (required), sent in
	// SessionLoginInfo.
	User     string `json:"user"`
	Password string `json:"password"`
	// SwitchName is the Communication Manager's switch connection name
	// on AES (required), used in GetDeviceId.
	SwitchName string `json:"switch_name"`
	// ApplicationID is sent in StartApplicationSession (default
	// "Switchboard").
	ApplicationID string `json:"application_id"`
	// ProtocolVersion pins the DMCC protocol version: an AES release
	// ("6.3"), a suffix ("ed3/priv7") or the full URI. Default: offer
	// every known version, newest first, and use what AES answers.
	ProtocolVersion string `json:"protocol_version"`
	// SessionDuration is the requested session duration (default 180s, at
	// least 10s); the timer is reset at half of what AES grants.
	SessionDuration Duration `json:"session_duration"`
	// SessionCleanupDelay is how long AES keeps the session after the
	// socket drops, so a reconnect can resume it with its monitors
	// (default 60s; 0s turns resumption off).
	SessionCleanupDelay *Duration `json:"session_cleanup_delay"`
	// ReconnectMin and ReconnectMax bound the reconnect backoff (defaults
	// 500ms and 30s); it doubles after each failed attempt.
	ReconnectMin Duration `json:"reconnect_min"`
	ReconnectMax Duration `json:"reconnect_max"`
	// RequestTimeout bounds each request without an earlier deadline
	// (default 5s).
	RequestTimeout Duration `json:"request_timeout"`
	// SkipMWIQuery leaves GetMessageWaitingIndicator out of each
	// device's snapshot (default false: asked beside SnapshotDevice, so a
	// restore brings the lamp back as the AES holds it). Set, the
	// message-waiting lamp follows MessageWaitingEvents only; ctibench
	// -mwi-ab measures the query's share of the restore time with it.
	SkipMWIQuery bool `json:"skip_mwi_query"`
	// Keepalive is the longest time between two
	// ResetApplicationSessionTimer requests (default 15s, 1s to 1h). The
	// timer is reset at the shortest of half the granted duration, a
	// quarter of the session cleanup delay and Keepalive, so an AES link
	// that stopped answering is found within Keepalive + RequestTimeout
	// (~20 s by default), while AES still holds the session to resume.
	Keepalive Duration `json:"keepalive"`
	// Directory names the PBX's devices for the attendant (ListDevices):
	// [{"device": "201", "name": "Reception", "type": "internal"}, ...].
	// ECMA-323 events carry no names, so this is where lamps get theirs
	// (default none). Each device once.
	Directory sdk.Directory `json:"directory"`

	versions []string // the protocol versions offered
}

// Defaults.
const (
	DefaultApplicationID       = "Switchboard"
	DefaultSessionDuration     = 180 * time.Second
	DefaultSessionCleanupDelay = 60 * time.Second
	DefaultReconnectMin        = 500 * time.Millisecond
	DefaultReconnectMax        = 30 * time.Second
	DefaultRequestTimeout      = 5 * time.Second
	DefaultKeepalive           = 15 * time.Second
)

// Duration is a time.Duration that reads "180s" or a number of seconds
// (see [driverconf.Duration]).
type Duration = driverconf.Duration

// ParseConfig decodes a JSON config strictly, fills in the defaults and
// validates it. Every problem is reported at once.
func ParseConfig(b []byte) (Config, error) {
	var c Config
	if err := driverconf.DecodeStrict("avaya config", b, &c); err != nil {
		return c, err
	}
	c.setDefaults()
	return c, c.Validate()
}

func (c *Config) setDefaults() {
	if c.ApplicationID == "" {
		c.ApplicationID = DefaultApplicationID
	}
	if c.Address != "" {
		if _, _, err := net.SplitHostPort(c.Address); err != nil {
			port := dmcc.PortPlain
			if c.TLS {
				port = dmcc.PortTLS
			}
			c.Address = net.JoinHostPort(c.Address, strconv.Itoa(port))
		}
	}
	def := driverconf.Default
	def(&c.SessionDuration, DefaultSessionDuration)
	def(&c.ReconnectMin, DefaultReconnectMin)
	def(&c.ReconnectMax, DefaultReconnectMax)
	def(&c.RequestTimeout, DefaultRequestTimeout)
	def(&c.Keepalive, DefaultKeepalive)
	if c.SessionCleanupDelay == nil {
		d := Duration(DefaultSessionCleanupDelay)
		c.SessionCleanupDelay = &d
	}
}

// Validate checks a config with defaults filled in. It has no side
// effects other than recording the protocol versions to offer.
func (c *Config) Validate() error {
	p := driverconf.NewProblems("avaya config")
	bad := p.Add
	if c.Address == "" {
		bad("address is required (host[:port] of AE Services, port 4721 or 4722 with tls)")
	} else if host, port, err := net.SplitHostPort(c.Address); err != nil || host == "" || port == "" {
		bad("address %q: want host[:port]", c.Address)
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		bad("address %q: bad port", c.Address)
	}
	if c.User == "" || c.Password == "" {
		bad("user and password are required (the AE Services CTI user)")
	}
	if c.SwitchName == "" {
		bad("switch_name is required (the switch connection name on AE Services, e.g. CM1)")
	}
	c.versions = nil
	if c.ProtocolVersion == "" {
		c.versions = dmcc.Versions()
	} else if v, ok := dmcc.ParseVersion(c.ProtocolVersion); ok {
		c.versions = []string{v}
	} else {
		bad("protocol_version %q: want an AES release (6.3), a suffix (ed3/priv7) or a DMCC protocol URI", c.ProtocolVersion)
	}
	if time.Duration(c.SessionDuration) < 10*time.Second || time.Duration(c.SessionDuration) > 24*time.Hour {
		bad("session_duration %s: want 10s to 24h", time.Duration(c.SessionDuration))
	}
	if c.SessionCleanupDelay != nil && (*c.SessionCleanupDelay < 0 || time.Duration(*c.SessionCleanupDelay) > time.Hour) {
		bad("session_cleanup_delay %s: want 0 to 1h", time.Duration(*c.SessionCleanupDelay))
	}
	if time.Duration(c.Keepalive) < time.Second || time.Duration(c.Keepalive) > time.Hour {
		bad("keepalive %s: want 1s to 1h", time.Duration(c.Keepalive))
	}
	p.Backoff(c.ReconnectMin, c.ReconnectMax)
	p.RequestTimeout(c.RequestTimeout)
	if (c.TLSInsecureSkipVerify || c.TLSCAFile != "" || c.TLSServerName != "") && !c.TLS {
		bad("tls_* settings without tls")
	}
	if err := c.Directory.Validate(); err != nil {
		bad("%v", err)
	}
	return p.Err()
}

// cleanupDelay returns the session cleanup delay in whole seconds.
func (c *Config) cleanupDelay() int {
	if c.SessionCleanupDelay == nil {
		return 0
	}
	return int(time.Duration(*c.SessionCleanupDelay) / time.Second)
}

// keepaliveInterval is how often the session timer is reset on a session
// granted dur: half of dur (§2.3), at most a quarter of the cleanup delay
// (a dead link is found while the session can still be resumed) and at
// most Keepalive.
func (c *Config) keepaliveInterval(dur time.Duration) time.Duration {
	iv := min(dur/2, time.Duration(c.Keepalive))
	if cd := c.cleanupDelay(); cd > 0 {
		iv = min(iv, time.Duration(cd)*time.Second/4)
	}
	return max(iv, 100*time.Millisecond)
}
