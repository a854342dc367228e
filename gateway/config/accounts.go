package config

import (
	"time"
	"unicode"
)

// Accounts configures the logins of the HTTPS side (issue 14): sessions
// and the login rate limit.
type Accounts struct {
	// SessionIdle ends a browser session not used for this long.
	// 1m to 24h. Default: 30m.
	SessionIdle Duration `yaml:"session_idle"`

	// SessionMax ends a browser session this long after its login,
	// used or not. From session_idle to 30 days. Default: 12h.
	SessionMax Duration `yaml:"session_max"`

	// LoginFailures failed logins (session logins, HTTP Basic, the old
	// password of a password change) within LoginWindow, from one source
	// or for one account name, refuse further tries with 429 until the
	// window moves on. 0 turns the limit off. 0 to 1000. Default: 10.
	LoginFailures int `yaml:"login_failures"`

	// LoginWindow is the window of LoginFailures. 1s to 24h. Default: 5m.
	LoginWindow Duration `yaml:"login_window"`
}

// Operators configures the attendant operators' pause reasons and panic
// button (seed 004).
type Operators struct {
	// PauseReasons is off, optional or mandatory: whether pausing takes
	// a reason from pause_reasons_file. Default: optional.
	PauseReasons string `yaml:"pause_reasons"`

	// PauseReasonsFile lists the pause reasons, one per line (blank
	// lines ignored); re-read when it changes, within a few seconds. A
	// missing file means no reasons. Default: <data_dir>/pause_reasons.txt.
	PauseReasonsFile string `yaml:"pause_reasons_file"`

	// Panic is the panic button of the operator console.
	Panic PanicButton `yaml:"panic"`
}

// PanicButton configures the console's panic button.
type PanicButton struct {
	// Enabled shows the panic button. Default: false.
	Enabled bool `yaml:"enabled"`

	// Number is called from the operator's device when it is pressed;
	// required when enabled. 1 to 32 of 0-9 * # +.
	Number string `yaml:"number"`
}

func defaultAccounts() Accounts {
	return Accounts{SessionIdle: Duration(30 * time.Minute), SessionMax: Duration(12 * time.Hour),
		LoginFailures: 10, LoginWindow: Duration(5 * time.Minute)}
}

func defaultOperators() Operators { return Operators{PauseReasons: "optional"} }

// pauseModes are the values of operators.pause_reasons.
var pauseModes = []string{"off", "optional", "mandatory"}

func (d *decoder) validateAccounts(c *Config) {
	a := &c.Accounts
	if v := a.SessionIdle.D(); v < time.Minute || v > 24*time.Hour {
		d.errorf("accounts.session_idle", "%v is out of range: must be from 1m to 24h", v)
	}
	if v := a.SessionMax.D(); v < a.SessionIdle.D() || v > 30*24*time.Hour {
		d.errorf("accounts.session_max", "%v is out of range: must be from session_idle to 720h", v)
	}
	if a.LoginFailures < 0 || a.LoginFailures > 1000 {
		d.errorf("accounts.login_failures", "%d is out of range: must be from 0 (no limit) to 1000", a.LoginFailures)
	}
	if v := a.LoginWindow.D(); v < time.Second || v > 24*time.Hour {
		d.errorf("accounts.login_window", "%v is out of range: must be from 1s to 24h", v)
	}
	o := &c.Operators
	ok := false
	for _, m := range pauseModes {
		ok = ok || o.PauseReasons == m
	}
	if !ok {
		d.errorf("operators.pause_reasons", "%q: must be off, optional or mandatory", o.PauseReasons)
	}
	if n := o.Panic.Number; n != "" || o.Panic.Enabled {
		good := len(n) >= 1 && len(n) <= 32
		for _, r := range n {
			good = good && (unicode.IsDigit(r) && r < 128 || r == '*' || r == '#' || r == '+')
		}
		if !good {
			d.errorf("operators.panic.number", "%q: 1 to 32 of 0-9 * # + (required when the panic button is enabled)", n)
		}
	}
}
