package config

import (
	"slices"
	"strings"

	"github.com/switchboard-gw/switchboard/gateway/callpolicy"
)

// CallPolicy configures call admission: which numbers each user and
// trunk may call (classes of service), destinations refused to all, and
// caps on calls (issue 10). Classes are assigned with users[].class and
// trunks[].class; trunk capacity is trunks[].limits.
type CallPolicy struct {
	// DefaultClass is the class of users without users[].class (users
	// imported into the store included). Default: default.
	DefaultClass string `yaml:"default_class"`

	// TrunkClass is the class of calls from trunks without
	// trunks[].class and from security.trusted_callers hosts: what their
	// transfers may reach. Default: trunk.
	TrunkClass string `yaml:"trunk_class"`

	// Classes are named classes of service. Four are built in, and an
	// entry of the same name replaces one: default (internal, emergency,
	// private, tollfree, national, special; max_calls 10,
	// calls_per_second 2, burst 20), international (default plus
	// international), unrestricted (every category, no caps) and trunk
	// (internal, emergency and private, no caps). Default: none beyond those.
	Classes []CallClass `yaml:"classes"`

	// Deny lists E.164 prefixes (+ and 1 to 15 digits, as +5399) no call
	// may reach, whatever the class, besides the built-in list when
	// default_deny is true. Default: none.
	Deny []string `yaml:"deny"`

	// DefaultDeny refuses the built-in list of international premium and
	// satellite ranges (+870, +881, +882, +883, +979); false leaves deny
	// as the whole list. Default: true.
	DefaultDeny bool `yaml:"default_deny"`

	// MaxRingingPerSource caps the calls in setup (not yet answered) from
	// one source address (IPv6: one /64) that is not a trunk: each holds
	// relay ports. Over it, 503 with Retry-After. 0 = no cap.
	// Default: 100.
	MaxRingingPerSource int `yaml:"max_ringing_per_source"`

	// Pickup lets any authenticated user pick up a call ringing at another
	// local user's device (not one ringing on a trunk) (BLF directed pickup: INVITE with Replaces naming the
	// ringing early dialog, RFC 3891 §3). The call's caller and the called
	// user's own devices may always; trunks and unauthenticated sources
	// never pick up others' calls. Default: true.
	Pickup bool `yaml:"pickup"`
}

// CallClass is a class of service.
type CallClass struct {
	// Name is referred to by users[].class, trunks[].class, default_class
	// and trunk_class. Required; unique.
	Name string `yaml:"name"`

	// Allow lists the categories of number the class may call: internal
	// (local users), emergency (always allowed), private (PBX extensions
	// and codes), tollfree, national, special (short service codes),
	// international, premium. Required.
	Allow []string `yaml:"allow"`

	// MaxCalls caps each party's concurrent calls; over it, 503 with
	// Retry-After. 0 = no cap. Default: 0.
	MaxCalls int `yaml:"max_calls"`

	// CallsPerSecond caps each party's new calls a second; over it, 503
	// with Retry-After. 0 = no cap. Default: 0.
	CallsPerSecond int `yaml:"calls_per_second"`

	// Burst is how many calls may start at once within
	// calls_per_second. Default: calls_per_second.
	Burst int `yaml:"burst"`
}

// TrunkLimits cap the calls of one trunk, both directions together.
type TrunkLimits struct {
	// MaxCalls caps concurrent calls on the trunk; over it, 503 with
	// Retry-After. 0 = no cap. Default: 0.
	MaxCalls int `yaml:"max_calls"`

	// CallsPerSecond caps new calls a second on the trunk. 0 = no cap.
	// Default: 0.
	CallsPerSecond int `yaml:"calls_per_second"`

	// Burst is how many calls may start at once. Default:
	// calls_per_second.
	Burst int `yaml:"burst"`

	// MaxRinging caps the calls from the trunk in setup (not yet
	// answered), each holding relay ports. 0 = no cap. Default: 200.
	MaxRinging int `yaml:"max_ringing"`
}

// defaultCallPolicy returns the call_policy defaults.
func defaultCallPolicy() CallPolicy {
	return CallPolicy{
		DefaultClass:        callpolicy.ClassDefault,
		TrunkClass:          callpolicy.ClassTrunk,
		DefaultDeny:         true,
		MaxRingingPerSource: 100,
		Pickup:              true,
	}
}

// defaultTrunkLimits returns the trunks[].limits defaults.
func defaultTrunkLimits() TrunkLimits { return TrunkLimits{MaxRinging: 200} }

func (d *decoder) validateCallPolicy(c *Config) {
	cp := &c.CallPolicy
	names := map[string]int{}
	for _, b := range callpolicy.BuiltinClasses() {
		names[b.Name] = -1
	}
	for i, cl := range cp.Classes {
		p := index("call_policy.classes", i)
		switch j, dup := names[cl.Name]; {
		case cl.Name == "":
			d.errorf(p+".name", "is required")
		case !ValidUsername(cl.Name):
			d.errorf(p+".name", "%q is not a valid name: use 1 to 64 letters, digits and . _ + -", cl.Name)
		case dup && j >= 0:
			d.errorf(p+".name", "duplicate class %q (also call_policy.classes[%d])", cl.Name, j)
		default:
			names[cl.Name] = i
		}
		if len(cl.Allow) == 0 {
			d.errorf(p+".allow", "at least one category is required")
		}
		for k, a := range cl.Allow {
			if _, ok := callpolicy.ParseCategory(a); !ok {
				d.errorf(index(p+".allow", k), "%q is not a category: use %s", a, categoryList())
			}
		}
		d.nonNegativeInt(p+".max_calls", cl.MaxCalls)
		d.nonNegativeInt(p+".calls_per_second", cl.CallsPerSecond)
		d.nonNegativeInt(p+".burst", cl.Burst)
	}
	known := func(path, name string) {
		if _, ok := names[name]; !ok {
			d.errorf(path, "%q is not a class: use one of call_policy.classes or %s", name, builtinList())
		}
	}
	known("call_policy.default_class", cp.DefaultClass)
	known("call_policy.trunk_class", cp.TrunkClass)
	for i, u := range c.Users {
		if u.Class != "" {
			known(index("users", i)+".class", u.Class)
		}
	}
	for i, t := range c.Trunks {
		p := index("trunks", i)
		if t.Class != "" {
			known(p+".class", t.Class)
		}
		d.nonNegativeInt(p+".limits.max_calls", t.Limits.MaxCalls)
		d.nonNegativeInt(p+".limits.calls_per_second", t.Limits.CallsPerSecond)
		d.nonNegativeInt(p+".limits.burst", t.Limits.Burst)
		d.nonNegativeInt(p+".limits.max_ringing", t.Limits.MaxRinging)
	}
	for i, p := range cp.Deny {
		if err := callpolicy.ValidPrefix(p); err != nil {
			d.errorf(index("call_policy.deny", i), "%v", err)
		}
	}
	d.nonNegativeInt("call_policy.max_ringing_per_source", cp.MaxRingingPerSource)
}

func (d *decoder) nonNegativeInt(path string, v int) {
	if v < 0 {
		d.errorf(path, "%d must not be negative", v)
	}
}

func categoryList() string {
	s := make([]string, len(callpolicy.Categories))
	for i, c := range callpolicy.Categories {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

func builtinList() string {
	var s []string
	for _, b := range callpolicy.BuiltinClasses() {
		s = append(s, b.Name)
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}
