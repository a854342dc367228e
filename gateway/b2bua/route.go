package b2bua

import (
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/gateway/store"
)

// Route sends the numbers that match one of Match to Trunk. A pattern
// matches exactly, or, ending in "x", any number it is a prefix of
// (config trunks[].match).
type Route struct {
	Trunk *dnssrv.Trunk
	Match []string
}

// Routes is an ordered numbering plan: the first route that matches wins.
type Routes []Route

// Route returns the trunk for number, nil when none matches.
func (rs Routes) Route(number string) *dnssrv.Trunk {
	for _, r := range rs {
		for _, m := range r.Match {
			if matches(m, number) {
				return r.Trunk
			}
		}
	}
	return nil
}

// matches reports whether number fits pattern.
func matches(pattern, number string) bool {
	if p, ok := strings.CutSuffix(pattern, "x"); ok {
		return len(number) > len(p) && strings.HasPrefix(number, p) && digits(number[len(p):])
	}
	return pattern == number
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '*' && s[i] != '#' {
			return false
		}
	}
	return true
}

// exactRouter is a Router that tells an exact numbering-plan match (a
// pattern without wildcard) apart: such a match beats a local user of the
// same number, a wildcard match does not.
type exactRouter interface {
	RouteExact(number string) *dnssrv.Trunk
}

// RouteExact returns the trunk whose patterns name number exactly.
func (rs Routes) RouteExact(number string) *dnssrv.Trunk {
	for _, r := range rs {
		for _, m := range r.Match {
			if m == number && !strings.HasSuffix(m, "x") {
				return r.Trunk
			}
		}
	}
	return nil
}

// target is where a dialled number goes: a local user's contacts, or a
// trunk.
type target struct {
	user     string // local username; "" for a trunk
	contacts []store.Binding
	trunk    *dnssrv.Trunk
	queue    string // an operator queue's number (queue.go)
}

// resolve finds the target of a dialled number: a trunk matched exactly,
// else a local user (by username or extension) with the contacts it has
// registered, else a trunk matched by pattern. fromTrunk restricts calls
// that came from a trunk to local users (no trunk-to-trunk transit).
func (b *B2BUA) resolve(num string, fromTrunk bool) (target, error) {
	if !fromTrunk {
		if er, ok := b.o.Router.(exactRouter); ok {
			if tr := er.RouteExact(num); tr != nil {
				return target{trunk: tr}, nil
			}
		}
	}
	if b.o.Queues != nil && b.o.Queues.IsQueue(num) {
		return target{queue: num}, nil // queue.go
	}
	if b.o.Local != nil {
		if user, ok := b.o.Local.Local(num); ok {
			return target{user: user, contacts: b.contacts(user)}, nil
		}
	}
	if !fromTrunk {
		if tr := b.o.Router.Route(num); tr != nil {
			return target{trunk: tr}, nil
		}
	}
	return target{}, fmt.Errorf("%w: %q", ErrNoRoute, num)
}

// contacts lists the live bindings of user in every domain served
// (RFC 3261 §16.5: the location service gives the targets).
func (b *B2BUA) contacts(user string) []store.Binding {
	if b.o.Location == nil {
		return nil
	}
	now := time.Now()
	var out []store.Binding
	for _, d := range b.domains() {
		out = append(out, b.o.Location.Lookup(user+"@"+d, now)...)
	}
	return out
}

func (b *B2BUA) domains() []string {
	if len(b.o.Domains) > 0 {
		return b.o.Domains
	}
	return []string{b.o.Domain}
}
