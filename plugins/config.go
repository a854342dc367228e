package plugins

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"time"
)

// Config is one driver under a [Supervisor]. Zero durations take the
// defaults given in the field comments.
type Config struct {
	// Name names the driver in logs, events and errors, and is what a
	// bundled driver is started with (`switchboard driver NAME`).
	Name string
	// Path is a third-party driver executable. Empty means a bundled
	// driver, re-executed from this binary (see [Bundled]).
	Path string
	// SHA256 is the hex SHA-256 of the executable the driver is started
	// from; required with Path. It is checked before every start
	// (go-plugin SecureConfig) and a mismatch is refused with
	// [ErrChecksum].
	SHA256 string
	// Command builds the command that starts the driver. Default: Path if
	// set, else [Bundled]. Tests point it at a test binary. When the
	// returned command has no SysProcAttr, on Linux the supervisor sets
	// one that kills the driver if the host dies.
	Command func(name string) *exec.Cmd
	// DriverConfig is handed to the driver's Start (JSON).
	DriverConfig []byte

	// CallTimeout bounds every call to the driver (default 5s). A caller's
	// earlier deadline wins.
	CallTimeout time.Duration
	// StartTimeout bounds starting the process, the handshake and Start
	// (default 10s).
	StartTimeout time.Duration
	// HealthInterval is how often the driver is probed (default 1s) with a
	// Capabilities call bounded by HealthTimeout (default 1s). After
	// HealthFailures (default 3) failures in a row the driver is taken as
	// hung: it is killed and restarted.
	HealthInterval time.Duration
	HealthTimeout  time.Duration
	HealthFailures int
	// BackoffMin and BackoffMax bound the wait before a restart (defaults
	// 100ms and 30s); it doubles after each failed or short-lived start,
	// and goes back to BackoffMin once a driver has run for StableAfter
	// (default 10s).
	BackoffMin  time.Duration
	BackoffMax  time.Duration
	StableAfter time.Duration
	// RestoreParallelism is how many MonitorStart/Snapshot calls run at
	// once while monitors are restored (default 64). RestoreTimeout bounds
	// the whole restore (default 30s).
	RestoreParallelism int
	RestoreTimeout     time.Duration
	// RestoreRate paces the MonitorStart calls of restores and retries:
	// at most this many a second, after a burst of as many (default
	// 2500; negative: unpaced), so that a PBX is not flooded when 5,000
	// devices come back at once. A device not restored within
	// RestoreTimeout, or refused, is retried (it does not fail the
	// restore).
	RestoreRate int
	// MonitorRetryMin and MonitorRetryMax bound the backoff (with ±20%
	// jitter) of a monitor the driver refused or did not start in time
	// (defaults 1s and 60s). A device the driver says does not exist is
	// retried every MonitorRetryMax.
	MonitorRetryMin time.Duration
	MonitorRetryMax time.Duration
	// EventBuffer is the capacity of the consumer's event channel (default
	// 4096). A consumer that stops reading holds the driver back; it never
	// loses or reorders events.
	EventBuffer int
	// Logger receives supervision logs and the driver's own log lines
	// (default: discard).
	Logger *slog.Logger
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// withDefaults validates c and fills in the defaults.
func (c Config) withDefaults() (Config, []byte, error) {
	if !nameRE.MatchString(c.Name) {
		return c, nil, fmt.Errorf("driver name %q: must be lowercase letters, digits, '-' or '_'", c.Name)
	}
	var sum []byte
	if c.SHA256 != "" {
		var err error
		sum, err = ParseSHA256(c.SHA256)
		if err != nil {
			return c, nil, fmt.Errorf("driver %s: %w", c.Name, err)
		}
	}
	if c.Path != "" && sum == nil {
		return c, nil, fmt.Errorf("driver %s: sha256 is required for the executable %s", c.Name, c.Path)
	}
	if c.Command == nil {
		if c.Path != "" {
			c.Command = External(c.Path)
		} else {
			c.Command = Bundled
		}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.CallTimeout, 5*time.Second)
	def(&c.StartTimeout, 10*time.Second)
	def(&c.HealthInterval, time.Second)
	def(&c.HealthTimeout, time.Second)
	def(&c.BackoffMin, 100*time.Millisecond)
	def(&c.BackoffMax, 30*time.Second)
	def(&c.StableAfter, 10*time.Second)
	def(&c.RestoreTimeout, 30*time.Second)
	def(&c.MonitorRetryMin, time.Second)
	def(&c.MonitorRetryMax, time.Minute)
	c.MonitorRetryMax = max(c.MonitorRetryMax, c.MonitorRetryMin)
	if c.RestoreRate == 0 {
		c.RestoreRate = 2500
	}
	if c.HealthFailures <= 0 {
		c.HealthFailures = 3
	}
	if c.RestoreParallelism <= 0 {
		c.RestoreParallelism = 64
	}
	if c.EventBuffer <= 0 {
		c.EventBuffer = 4096
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, sum, nil
}

// ParseSHA256 parses a hex SHA-256 checksum as written in the config
// ("sha256:" prefix allowed).
func ParseSHA256(s string) ([]byte, error) {
	if len(s) > 7 && s[:7] == "sha256:" {
		s = s[7:]
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("sha256 %q: want 64 hex digits", s)
	}
	return b, nil
}

// Bundled is the command of a bundled driver: this very executable, run as
// `<executable> driver NAME`. cmd/switchboard answers that by serving the
// named driver with sdk.Serve.
func Bundled(name string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return exec.Command(exe, "driver", name)
}

// External is the command of a third-party driver executable at path; it
// gets no arguments.
func External(path string) func(name string) *exec.Cmd {
	return func(string) *exec.Cmd { return exec.Command(path) }
}
