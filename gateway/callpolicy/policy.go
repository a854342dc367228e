package callpolicy

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Class is a class of service: the categories a party may dial and its
// caps, counted per party (each user, each trunk or host calling in).
type Class struct {
	// Name identifies the class (users[].class, trunks[].class).
	Name string
	// Allow lists the categories the party may dial. Emergency is always
	// allowed.
	Allow []Category
	// MaxCalls caps the party's concurrent calls; 0 = no cap.
	MaxCalls int
	// CallsPerSecond caps the rate of the party's new calls (a token
	// bucket); 0 = no cap.
	CallsPerSecond int
	// Burst is the bucket's size: calls that may start at once. Default:
	// CallsPerSecond.
	Burst int
}

// allows reports whether c may dial cat.
func (c *Class) allows(cat Category) bool { return cat == Emergency || slices.Contains(c.Allow, cat) }

// Built-in class names.
const (
	ClassDefault       = "default"
	ClassInternational = "international"
	ClassUnrestricted  = "unrestricted"
	ClassTrunk         = "trunk"
)

// BuiltinClasses are the classes every Policy has; Options.Classes of the
// same name replace them.
//
//   - default (users without a class): local users, emergency, PBX
//     extensions, toll-free, national and short service codes; no
//     international, no premium. At most 10 calls at once, 2 new calls
//     a second with bursts of 20.
//   - international: default plus international (premium still refused).
//   - unrestricted: every category, no caps (the deny-list still applies).
//   - trunk (trunks and security.trusted_callers hosts calling in): local users,
//     emergency and private numbers (the PBX's own extensions, when it
//     transfers a call back to itself) only, no caps (the trunk's own
//     limits apply).
func BuiltinClasses() []Class {
	base := []Category{Internal, Emergency, Private, TollFree, National, Special}
	return []Class{
		{Name: ClassDefault, Allow: base, MaxCalls: 10, CallsPerSecond: 2, Burst: 20},
		{Name: ClassInternational, Allow: append(slices.Clone(base), International), MaxCalls: 10, CallsPerSecond: 2, Burst: 20},
		{Name: ClassUnrestricted, Allow: slices.Clone(Categories)},
		{Name: ClassTrunk, Allow: []Category{Internal, Emergency, Private}},
	}
}

// TrunkLimits cap the calls on one trunk, both directions together.
type TrunkLimits struct {
	// MaxCalls caps concurrent calls; 0 = no cap.
	MaxCalls int
	// CallsPerSecond caps new calls a second; 0 = no cap.
	CallsPerSecond int
	// Burst is the token bucket's size. Default: CallsPerSecond.
	Burst int
	// MaxRinging caps calls from the trunk not yet answered; 0 = no cap.
	MaxRinging int
}

// Options configure a Policy.
type Options struct {
	// Region is the home region (numbering.region); "" classifies by the
	// ITU-recommended prefixes (see NewClassifier).
	Region string
	// Classes add to BuiltinClasses or replace those of the same name.
	Classes []Class
	// DefaultClass is the class of users not in Users. Default: default.
	DefaultClass string
	// TrunkClass is the class of trunks not in TrunkClasses and of hosts
	// (security.trusted_callers) calling in. Default: trunk.
	TrunkClass string
	// Users maps usernames to their class.
	Users map[string]string
	// TrunkClasses maps trunk names to the class of the calls they send.
	TrunkClasses map[string]string
	// Trunks maps trunk names to their limits.
	Trunks map[string]TrunkLimits
	// Deny are E.164 prefixes refused besides DefaultDeny.
	Deny []string
	// NoDefaultDeny leaves DefaultDeny out: Deny is then the whole list.
	NoDefaultDeny bool
	// MaxRingingPerSource caps calls in setup per source address (IPv6
	// per /64) for calls not from a trunk; 0 = no cap.
	MaxRingingPerSource int
	// Now is the clock; default time.Now (tests set it).
	Now func() time.Time
}

// PartyKind is who places a call.
type PartyKind int

// Party kinds.
const (
	// User is an authenticated user.
	User PartyKind = iota
	// Trunk is a trunk calling in.
	Trunk
	// Host is a security.trusted_callers host calling in (Name is its address).
	Host
)

// Party is who a call is counted against and whose class applies.
type Party struct {
	Kind PartyKind
	Name string
}

func (p Party) key() string {
	switch p.Kind {
	case Trunk:
		return "trunk:" + p.Name
	case Host:
		return "host:" + p.Name
	}
	return "user:" + p.Name
}

// Call is a call asking to be admitted.
type Call struct {
	// Party places the call (for a diversion, the diverting user; for a
	// transfer, the transferor).
	Party Party
	// Number is the number as it will be sent (after the numbering plan).
	Number string
	// Local is true when the number reaches a local user (Internal).
	Local bool
	// ToTrunk is the trunk the call goes to, "" for a local user.
	ToTrunk string
	// FromTrunk is the trunk the call came from, "" when not from one.
	FromTrunk string
	// Source is the signalling source of a call in setup; with Setup it
	// takes a ringing slot of that source (or of FromTrunk).
	Source netip.Addr
	// Setup is true for a new call that rings until Ticket.Answered.
	Setup bool
}

// Stats are the policy's counters.
type Stats struct {
	Admitted          uint64
	RefusedCategory   uint64
	RefusedDenied     uint64
	RefusedCalls      uint64
	RefusedRate       uint64
	RefusedRinging    uint64
	EmergencyAdmitted uint64
	// Calls and Ringing are the calls held and in setup now.
	Calls, Ringing int
}

// Policy is a validated admission policy.
type Policy struct {
	cls          atomic.Pointer[Classifier]
	classes      map[string]*Class
	defaultClass string
	trunkClass   string
	users        map[string]string
	trunkClasses map[string]string
	trunks       map[string]TrunkLimits
	deny         denyList
	maxRingSrc   int
	now          func() time.Time

	mu      sync.Mutex
	calls   map[string]int // party and trunk keys → held calls
	ringing map[string]int // source and trunk keys → calls in setup
	buckets map[string]*bucket
	pruneAt int
	stats   Stats
}

// New checks o and returns its Policy.
func New(o Options) (*Policy, error) {
	p := &Policy{
		classes:      map[string]*Class{},
		defaultClass: o.DefaultClass, trunkClass: o.TrunkClass,
		users: o.Users, trunkClasses: o.TrunkClasses, trunks: o.Trunks,
		maxRingSrc: o.MaxRingingPerSource, now: o.Now,
		calls: map[string]int{}, ringing: map[string]int{}, buckets: map[string]*bucket{}, pruneAt: 1024,
	}
	p.cls.Store(NewClassifier(o.Region))
	if p.now == nil {
		p.now = time.Now
	}
	if p.defaultClass == "" {
		p.defaultClass = ClassDefault
	}
	if p.trunkClass == "" {
		p.trunkClass = ClassTrunk
	}
	for _, c := range append(BuiltinClasses(), o.Classes...) {
		if c.Name == "" {
			return nil, fmt.Errorf("callpolicy: a class without a name")
		}
		if c.MaxCalls < 0 || c.CallsPerSecond < 0 || c.Burst < 0 {
			return nil, fmt.Errorf("callpolicy: class %s: negative cap", c.Name)
		}
		c := c
		p.classes[c.Name] = &c
	}
	for _, name := range []string{p.defaultClass, p.trunkClass} {
		if p.classes[name] == nil {
			return nil, fmt.Errorf("callpolicy: unknown class %q", name)
		}
	}
	for who, m := range map[string]map[string]string{"user": o.Users, "trunk": o.TrunkClasses} {
		for n, c := range m {
			if p.classes[c] == nil {
				return nil, fmt.Errorf("callpolicy: %s %s: unknown class %q", who, n, c)
			}
		}
	}
	deny := o.Deny
	if !o.NoDefaultDeny {
		deny = append(slices.Clone(DefaultDeny), o.Deny...)
	}
	var err error
	if p.deny, err = newDenyList(deny); err != nil {
		return nil, fmt.Errorf("callpolicy: deny: %w", err)
	}
	return p, nil
}

// Classify returns the category of a number as sent to a trunk.
func (p *Policy) Classify(number string) Classification { return p.cls.Load().Classify(number) }

// SetUsers replaces the user → class map (a configuration reload); calls
// under way keep what they hold.
func (p *Policy) SetUsers(users map[string]string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for n, c := range users {
		if p.classes[c] == nil {
			return fmt.Errorf("callpolicy: user %s: unknown class %q", n, c)
		}
	}
	p.users = users
	return nil
}

// ClassOf returns the class name that applies to party.
func (p *Policy) ClassOf(party Party) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.classOf(party)
}

func (p *Policy) classOf(party Party) string {
	switch party.Kind {
	case User:
		if c, ok := p.users[party.Name]; ok {
			return c
		}
		return p.defaultClass
	case Trunk:
		if c, ok := p.trunkClasses[party.Name]; ok {
			return c
		}
	}
	return p.trunkClass
}

// Stats returns the counters.
func (p *Policy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}
