package cisco

import (
	"net/url"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/cisco/xsi"
	"github.com/switchboard-gw/switchboard/drivers/driverconf"
)

// Config is the cisco driver's config section, handed to Start as JSON.
// Unknown keys are errors. Durations are Go duration strings ("15s") or
// whole seconds.
type Config struct {
	// BaseURL is the Xsi server (Xtended Services Platform), scheme and
	// host, e.g. "https://xsp.example.com". Required; https unless
	// PlainHTTP.
	BaseURL string `json:"base_url"`
	// User and Password are the HTTP Basic credentials, an administrator
	// (or the user itself) allowed to act for the monitored users.
	// Required unless BearerToken is set.
	User     string `json:"user"`
	Password string `json:"password"`
	// BearerToken is an OAuth access token sent as "Authorization: Bearer"
	// instead of Basic credentials (Webex Calling's Xsi, §4.3). The
	// driver does not refresh it.
	BearerToken string `json:"bearer_token"`
	// TLSCAFile is a PEM file of the CAs the server certificate is
	// checked against (default: the system roots).
	TLSCAFile string `json:"tls_ca_file"`
	// TLSServerName is the name the certificate is checked against
	// (default: BaseURL's host).
	TLSServerName string `json:"tls_server_name"`
	// TLSInsecureSkipVerify skips certificate checks (default false; lab
	// use only).
	TLSInsecureSkipVerify bool `json:"tls_insecure_skip_verify"`
	// PlainHTTP allows an http:// BaseURL (default false; lab use only:
	// the password crosses the network in the clear).
	PlainHTTP bool `json:"plain_http"`
	// Users maps a device (what the host monitors and dials, e.g. the
	// extension "201") to its BroadWorks user ID ("201@example.com").
	Users map[string]string `json:"users"`
	// UserDomain makes the user ID of a device that Users does not list:
	// device@UserDomain (default empty: the device is the user ID).
	UserDomain string `json:"user_domain"`
	// EventPackage is the Xsi-Events package subscribed per user (default
	// "Advanced Call"; "Standard Call" lacks DND/forwarding events,
	// "Basic Call" also hold, transfer and conference events).
	EventPackage string `json:"event_package"`
	// MessageWaiting subscribes each user to the "Voice Mail Message
	// Summary" package too, for the message-waiting lamp (default false:
	// one subscription more per user, on every restore).
	MessageWaiting bool `json:"message_waiting"`
	// SnapshotParallel sends a device's snapshot queries (its calls and
	// five services) together instead of one after the other: six round
	// trips become two, which pays against a distant Xsi server (Webex
	// Calling, a hosted XSP), and costs CPU (~25% more per restored device
	// on loopback, where round trips cost nothing: snapparts.go).
	SnapshotParallel bool `json:"snapshot_parallel"`
	// ApplicationID names the application to BroadWorks (default
	// "Switchboard"); one channel set per application.
	ApplicationID string `json:"application_id"`
	// ChannelSetID prefixes the channel set ID, made unique per driver
	// process (default "switchboard").
	ChannelSetID string `json:"channel_set_id"`
	// SubscriptionScope is what one subscription covers (subscribe.go):
	// "user" (default: one per monitored user and package), "group" (one
	// per package for every user of GroupID in ServiceProviderID) or
	// "service_provider" (one per package for the service provider or
	// enterprise ServiceProviderID). A server that refuses the wide
	// subscription (the account may not) gets per-user ones.
	SubscriptionScope string `json:"subscription_scope"`
	ServiceProviderID string `json:"service_provider_id"`
	GroupID           string `json:"group_id"`
	// ChannelExpires and SubscriptionExpires are the lifetimes asked for
	// (default 3600s, BroadWorks' minimum; it raises smaller values); both
	// are refreshed at half their lifetime.
	ChannelExpires      Duration `json:"channel_expires"`
	SubscriptionExpires Duration `json:"subscription_expires"`
	// HeartbeatInterval is how often a heartbeat is sent on the channel
	// (default 15s).
	HeartbeatInterval Duration `json:"heartbeat_interval"`
	// HeartbeatTimeout: a channel that streams nothing, not even the
	// heartbeat answers, for this long is dead and is reopened (default
	// 2 × HeartbeatInterval + 10s).
	HeartbeatTimeout Duration `json:"heartbeat_timeout"`
	// MaxEventBytes bounds one document on the channel (default 1 MiB);
	// a larger one makes the driver reopen the channel.
	MaxEventBytes int `json:"max_event_bytes"`
	// ReconnectMin and ReconnectMax bound the reconnect backoff (defaults
	// 500ms and 30s); it doubles after each failed attempt.
	ReconnectMin Duration `json:"reconnect_min"`
	ReconnectMax Duration `json:"reconnect_max"`
	// RequestTimeout bounds each Xsi request without an earlier deadline
	// (default 5s).
	RequestTimeout Duration `json:"request_timeout"`

	base *url.URL
}

// Defaults.
const (
	DefaultApplicationID     = "Switchboard"
	DefaultChannelSetID      = "switchboard"
	DefaultEventPackage      = xsi.PackageAdvancedCall
	DefaultExpires           = time.Hour
	DefaultHeartbeatInterval = 15 * time.Second
	DefaultReconnectMin      = 500 * time.Millisecond
	DefaultReconnectMax      = 30 * time.Second
	DefaultRequestTimeout    = 5 * time.Second
)

// Duration is a time.Duration that reads "180s" or a number of seconds
// (see [driverconf.Duration]).
type Duration = driverconf.Duration

// ParseConfig decodes a JSON config strictly, fills in the defaults and
// validates it. Every problem is reported at once.
func ParseConfig(b []byte) (Config, error) {
	var c Config
	if err := driverconf.DecodeStrict("cisco config", b, &c); err != nil {
		return c, err
	}
	c.setDefaults()
	return c, c.Validate()
}

func (c *Config) setDefaults() {
	if c.ApplicationID == "" {
		c.ApplicationID = DefaultApplicationID
	}
	if c.ChannelSetID == "" {
		c.ChannelSetID = DefaultChannelSetID
	}
	if c.EventPackage == "" {
		c.EventPackage = DefaultEventPackage
	}
	if c.MaxEventBytes == 0 {
		c.MaxEventBytes = xsi.DefaultMaxDocument
	}
	def := driverconf.Default
	def(&c.ChannelExpires, DefaultExpires)
	def(&c.SubscriptionExpires, DefaultExpires)
	def(&c.HeartbeatInterval, DefaultHeartbeatInterval)
	def(&c.HeartbeatTimeout, 2*time.Duration(c.HeartbeatInterval)+10*time.Second)
	def(&c.ReconnectMin, DefaultReconnectMin)
	def(&c.ReconnectMax, DefaultReconnectMax)
	def(&c.RequestTimeout, DefaultRequestTimeout)
}

// Validate checks a config with defaults filled in. It has no side
// effects but remembering the parsed base URL.
func (c *Config) Validate() error {
	p := driverconf.NewProblems("cisco config")
	bad := p.Add
	c.base = nil
	if c.BaseURL == "" {
		bad("base_url is required (https://host of the Xsi server)")
	} else if u, err := url.Parse(c.BaseURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		bad("base_url %q: want https://host[:port]", c.BaseURL)
	} else if u.Scheme == "http" && !c.PlainHTTP {
		bad("base_url %q: http sends the password in the clear; use https or set plain_http (lab only)", c.BaseURL)
	} else if u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "" {
		bad("base_url %q: scheme and host only (the Xsi paths are added)", c.BaseURL)
	} else {
		u.Path = ""
		c.base = u
	}
	switch {
	case c.BearerToken != "" && (c.User != "" || c.Password != ""):
		bad("bearer_token or user and password, not both")
	case c.BearerToken == "" && (c.User == "" || c.Password == ""):
		bad("user and password are required (HTTP Basic), or bearer_token")
	}
	if c.base != nil && c.base.Scheme == "http" && (c.TLSCAFile != "" || c.TLSInsecureSkipVerify || c.TLSServerName != "") {
		bad("tls_* settings with an http base_url")
	}
	switch c.EventPackage {
	case xsi.PackageAdvancedCall, xsi.PackageStandardCall, xsi.PackageBasicCall:
	default:
		bad("event_package %q: want %q, %q or %q", c.EventPackage, xsi.PackageAdvancedCall,
			xsi.PackageStandardCall, xsi.PackageBasicCall)
	}
	for dev, uid := range c.Users {
		if dev == "" || strings.TrimSpace(uid) == "" || strings.ContainsAny(uid, "/?#") {
			bad("users: %q → %q: want a device and a user ID without / ? #", dev, uid)
		}
	}
	if strings.ContainsAny(c.UserDomain, "/?#@") {
		bad("user_domain %q: a domain name", c.UserDomain)
	}
	if c.ChannelExpires < Duration(time.Second) || c.SubscriptionExpires < Duration(time.Second) {
		bad("channel_expires and subscription_expires must be at least 1s")
	}
	if c.HeartbeatInterval < Duration(10*time.Millisecond) {
		bad("heartbeat_interval %s: too short", time.Duration(c.HeartbeatInterval))
	}
	if c.HeartbeatTimeout <= c.HeartbeatInterval {
		bad("heartbeat_timeout %s must exceed heartbeat_interval %s",
			time.Duration(c.HeartbeatTimeout), time.Duration(c.HeartbeatInterval))
	}
	if c.MaxEventBytes < 4096 || c.MaxEventBytes > 64<<20 {
		bad("max_event_bytes %d: want 4096 to 64 MiB", c.MaxEventBytes)
	}
	c.validateScope(bad)
	p.Backoff(c.ReconnectMin, c.ReconnectMax)
	p.RequestTimeout(c.RequestTimeout)
	return p.Err()
}

// userID returns the BroadWorks user ID of device.
func (c *Config) userID(device string) string {
	if uid, ok := c.Users[device]; ok {
		return uid
	}
	if c.UserDomain != "" && !strings.Contains(device, "@") {
		return device + "@" + c.UserDomain
	}
	return device
}
