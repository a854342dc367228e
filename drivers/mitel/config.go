package mitel

import (
	"net"
	"strconv"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/drivers/driverconf"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// Config is the mitel driver's config section, handed to Start as JSON.
// Unknown keys are errors. Durations are Go duration strings ("180s") or
// whole seconds.
type Config struct {
	// Address is the PBX's CSTA host:port. Required: MiVO400's CSTA port
	// is not public (set on the PBX), so there is no default.
	Address string `json:"address"`
	// TLS turns TLS on for the link (default off).
	TLS bool `json:"tls"`
	// TLSServerName is the name the PBX certificate is checked against
	// (default: Address's host).
	TLSServerName string `json:"tls_server_name"`
	// TLSCAFile is a PEM file of the CAs the PBX certificate is checked
	// against (default: the system roots).
	TLSCAFile string `json:"tls_ca_file"`
	// TLSInsecureSkipVerify skips certificate checks (default false; lab
	// use only).
	TLSInsecureSkipVerify bool `json:"tls_insecure_skip_verify"`
	// User and Password are the CSTA login (default empty: no login sent).
	User     string `json:"user"`
	Password string `json:"password"`
	// ApplicationID is sent in StartApplicationSession (default
	// "Switchboard").
	ApplicationID string `json:"application_id"`
	// Edition is the ECMA-323 edition spoken: ed3 … ed6 (default ed5, as
	// MiVO400 uses).
	Edition string `json:"edition"`
	// SessionDuration is the requested application session duration
	// (default 180s, at least 10s); the timer is reset at half of what the
	// PBX grants.
	SessionDuration Duration `json:"session_duration"`
	// Keepalive is the longest time between two requests on an idle link
	// (default 15s): the session timer is reset at half the granted
	// duration or every Keepalive, whichever comes first, so a PBX link
	// that stopped answering is found within Keepalive + RequestTimeout,
	// not only when a long session would expire.
	Keepalive Duration `json:"keepalive"`
	// ReconnectMin and ReconnectMax bound the reconnect backoff (defaults
	// 500ms and 30s); it doubles after each failed attempt.
	ReconnectMin Duration `json:"reconnect_min"`
	ReconnectMax Duration `json:"reconnect_max"`
	// RequestTimeout bounds each CSTA request without an earlier deadline
	// (default 5s).
	RequestTimeout Duration `json:"request_timeout"`
	// SkipMWIQuery leaves GetMessageWaitingIndicator out of each
	// device's snapshot (default false: asked beside SnapshotDevice, so a
	// restore brings the lamp back as the PBX holds it). Set, the
	// message-waiting lamp follows MessageWaitingEvents only; ctibench
	// -mwi-ab measures the query's share of the restore time with it.
	SkipMWIQuery bool `json:"skip_mwi_query"`

	// The parts of MiVO400's CSTA interface no public document confirms
	// (README "Guesses"): each has a switch, and a PBX that answers
	// otherwise fails Start with an error naming the expectation.

	// Session is "ecma354" (default: an ECMA-354 application session,
	// StartApplicationSession first, its timer reset as keepalive) or
	// "none" (no session: monitors straight away, SystemStatus requests
	// as keepalive).
	Session string `json:"session"`
	// LoginCarrier is how user and password travel in
	// applicationSpecificInfo: "session_login_info" (default: the
	// SessionLoginInfo element without a namespace) or
	// "avaya_session_login_info" (the same in Avaya's
	// http://www.avaya.com/csta namespace, as AE Services documents it).
	LoginCarrier string `json:"login_carrier"`
	// DeviceIDFormat is how the host's device names are written on the
	// wire: "{device}" (default, as is) or a pattern such as
	// "N<{device}!98>" (the form a MiVO400 trace shows). Device IDs the PBX
	// reports in that form are read back to the bare name.
	DeviceIDFormat string `json:"device_id_format"`
	// Directory names the PBX's devices for the attendant (ListDevices):
	// [{"device": "201", "name": "Reception", "type": "internal"}, ...].
	// ECMA-323 events carry no names, so this is where lamps get theirs
	// (default none). Each device once.
	Directory sdk.Directory `json:"directory"`

	edition csta.Edition
	ids     deviceIDs
}

// Defaults.
const (
	DefaultApplicationID   = "Switchboard"
	DefaultSessionDuration = 180 * time.Second
	DefaultKeepalive       = 15 * time.Second
	DefaultReconnectMin    = 500 * time.Millisecond
	DefaultReconnectMax    = 30 * time.Second
	DefaultRequestTimeout  = 5 * time.Second
	DefaultDeviceIDFormat  = "{device}"
)

// Values of Config.Session and Config.LoginCarrier.
const (
	SessionECMA354             = "ecma354"
	SessionNone                = "none"
	LoginSessionLoginInfo      = "session_login_info"
	LoginAvayaSessionLoginInfo = "avaya_session_login_info"
)

// Duration is a time.Duration that reads "180s" or a number of seconds
// (see [driverconf.Duration]).
type Duration = driverconf.Duration

// ParseConfig decodes a JSON config strictly, fills in the defaults and
// validates it. Every problem is reported at once.
func ParseConfig(b []byte) (Config, error) {
	var c Config
	if err := driverconf.DecodeStrict("mitel config", b, &c); err != nil {
		return c, err
	}
	c.setDefaults()
	return c, c.Validate()
}

func (c *Config) setDefaults() {
	if c.ApplicationID == "" {
		c.ApplicationID = DefaultApplicationID
	}
	if c.Edition == "" {
		c.Edition = csta.DefaultEdition.String()
	}
	if c.Session == "" {
		c.Session = SessionECMA354
	}
	if c.LoginCarrier == "" {
		c.LoginCarrier = LoginSessionLoginInfo
	}
	if c.DeviceIDFormat == "" {
		c.DeviceIDFormat = DefaultDeviceIDFormat
	}
	def := driverconf.Default
	def(&c.SessionDuration, DefaultSessionDuration)
	def(&c.Keepalive, DefaultKeepalive)
	def(&c.ReconnectMin, DefaultReconnectMin)
	def(&c.ReconnectMax, DefaultReconnectMax)
	def(&c.RequestTimeout, DefaultRequestTimeout)
}

// Validate checks a config with defaults filled in. It has no side
// effects.
func (c *Config) Validate() error {
	p := driverconf.NewProblems("mitel config")
	bad := p.Add
	if c.Address == "" {
		bad("address is required (host:port of the PBX's CSTA interface)")
	} else if host, port, err := net.SplitHostPort(c.Address); err != nil || host == "" || port == "" {
		bad("address %q: want host:port", c.Address)
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		bad("address %q: bad port", c.Address)
	}
	c.edition = 0
	for e := csta.Ed3; e <= csta.Ed6; e++ {
		if e.String() == c.Edition {
			c.edition = e
		}
	}
	if c.edition == 0 {
		bad("edition %q: want ed3, ed4, ed5 or ed6", c.Edition)
	}
	if c.Password != "" && c.User == "" {
		bad("password without user")
	}
	if time.Duration(c.SessionDuration) < 10*time.Second || time.Duration(c.SessionDuration) > 24*time.Hour {
		bad("session_duration %s: want 10s to 24h", time.Duration(c.SessionDuration))
	}
	if time.Duration(c.Keepalive) < time.Second || time.Duration(c.Keepalive) > time.Hour {
		bad("keepalive %s: want 1s to 1h", time.Duration(c.Keepalive))
	}
	p.Backoff(c.ReconnectMin, c.ReconnectMax)
	p.RequestTimeout(c.RequestTimeout)
	if c.Session != SessionECMA354 && c.Session != SessionNone {
		bad("session %q: want %s or %s", c.Session, SessionECMA354, SessionNone)
	}
	if c.LoginCarrier != LoginSessionLoginInfo && c.LoginCarrier != LoginAvayaSessionLoginInfo {
		bad("login_carrier %q: want %s or %s", c.LoginCarrier, LoginSessionLoginInfo, LoginAvayaSessionLoginInfo)
	}
	if c.Session == SessionNone && c.User != "" {
		bad("user with session none: the login travels in the session request")
	}
	var err error
	if c.ids, err = parseDeviceIDFormat(c.DeviceIDFormat); err != nil {
		bad("device_id_format %q: %v", c.DeviceIDFormat, err)
	}
	if (c.TLSInsecureSkipVerify || c.TLSCAFile != "" || c.TLSServerName != "") && !c.TLS {
		bad("tls_* settings without tls")
	}
	if err := c.Directory.Validate(); err != nil {
		bad("%v", err)
	}
	return p.Err()
}
