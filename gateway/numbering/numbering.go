// Package numbering rewrites phone numbers between the phones and the
// trunks: per trunk prefix strip and add, E.164 normalisation
// (ITU-T E.164, with github.com/nyaruka/phonenumbers, Google's
// libphonenumber metadata) for a configured home region, and the reverse
// for calls from a trunk: the caller number presented in the form the
// phones want, with the outside line prefix so that calling back works.
//
// A Plan is immutable after New and safe for concurrent use.
package numbering

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/switchboard-gw/switchboard/gateway/config"
)

// Errors callers test for with errors.Is.
var (
	// ErrUnknownTrunk means Outbound was asked for a trunk the plan does
	// not know.
	ErrUnknownTrunk = errors.New("unknown trunk")
	// ErrInvalidNumber means the number cannot be sent in the trunk's
	// format: too short to strip, or not a possible phone number. A
	// B2BUA answers 484 Address Incomplete (RFC 3261 §21.4.22).
	ErrInvalidNumber = errors.New("invalid number")
)

// Format is how a number is written.
type Format string

// Formats. AsDialled (outbound) and AsReceived (inbound) leave the
// number as it is.
const (
	E164       Format = config.FormatE164
	National   Format = config.FormatNational
	AsDialled  Format = config.FormatAsDialled
	AsReceived Format = config.FormatAsReceived
)

// Rule rewrites numbers sent to one trunk: Strip, then Prefix, then
// Format.
type Rule struct {
	// Strip is how many leading characters are removed.
	Strip int
	// Prefix is put in front after stripping.
	Prefix string
	// Format is E164, National or AsDialled (the zero value means
	// AsDialled).
	Format Format
}

// Options configure a Plan.
type Options struct {
	// Region is the home region (ISO 3166, as CH) that national numbers
	// belong to. Needed by the E164 and National formats.
	Region string
	// Present is how Inbound writes external caller numbers: National,
	// E164 or AsReceived (the zero value).
	Present Format
	// OutsidePrefix is put in front of external caller numbers by Inbound
	// when Present is National.
	OutsidePrefix string
	// Trunks maps trunk names to their outbound rule.
	Trunks map[string]Rule
}

// Plan is a validated set of numbering rules.
type Plan struct {
	region  string
	present Format
	outside string
	trunks  map[string]Rule
}

// New checks o and returns its Plan.
func New(o Options) (*Plan, error) {
	p := &Plan{
		region:  strings.ToUpper(o.Region),
		present: o.Present,
		outside: o.OutsidePrefix,
		trunks:  make(map[string]Rule, len(o.Trunks)),
	}
	if p.region != "" && !phonenumbers.GetSupportedRegions()[p.region] {
		return nil, fmt.Errorf("numbering: unknown region %q", o.Region)
	}
	if p.present == "" {
		p.present = AsReceived
	}
	switch p.present {
	case AsReceived:
	case National, E164:
		if p.region == "" {
			return nil, fmt.Errorf("numbering: present %s needs a region", p.present)
		}
	default:
		return nil, fmt.Errorf("numbering: unknown present format %q", p.present)
	}
	for name, r := range o.Trunks {
		if r.Format == "" {
			r.Format = AsDialled
		}
		switch r.Format {
		case AsDialled:
		case E164, National:
			if p.region == "" {
				return nil, fmt.Errorf("numbering: trunk %s: format %s needs a region", name, r.Format)
			}
		default:
			return nil, fmt.Errorf("numbering: trunk %s: unknown format %q", name, r.Format)
		}
		if r.Strip < 0 {
			return nil, fmt.Errorf("numbering: trunk %s: negative strip %d", name, r.Strip)
		}
		p.trunks[name] = r
	}
	return p, nil
}

// FromConfig builds the Plan of a validated configuration: numbering and
// every trunk's number rule.
func FromConfig(c *config.Config) (*Plan, error) {
	o := Options{
		Region:        c.Numbering.Region,
		Present:       Format(c.Numbering.Present),
		OutsidePrefix: c.Numbering.OutsidePrefix,
		Trunks:        make(map[string]Rule, len(c.Trunks)),
	}
	for _, t := range c.Trunks {
		o.Trunks[t.Name] = Rule{Strip: t.Number.Strip, Prefix: t.Number.Prefix, Format: Format(t.Number.Format)}
	}
	return New(o)
}

// Region returns the home region, upper case ("" if none).
func (p *Plan) Region() string { return p.region }

// Outbound rewrites number, as dialled by a phone, for the trunk named
// trunk. Errors wrap ErrUnknownTrunk or ErrInvalidNumber.
func (p *Plan) Outbound(trunk, number string) (string, error) {
	r, ok := p.trunks[trunk]
	if !ok {
		return "", fmt.Errorf("numbering: %q: %w", trunk, ErrUnknownTrunk)
	}
	if r.Strip > 0 {
		if len(number) <= r.Strip {
			return "", fmt.Errorf("numbering: %q is too short to strip %d: %w", number, r.Strip, ErrInvalidNumber)
		}
		number = number[r.Strip:]
	}
	number = r.Prefix + number
	switch r.Format {
	case E164, National:
		n, err := p.parse(number)
		if err != nil {
			return "", err
		}
		if r.Format == E164 {
			out := phonenumbers.Format(n, phonenumbers.E164)
			// libphonenumber drops a national prefix written after the
			// country code (+44 0 20...): for a few inputs the result
			// still starts with one and would change when read again.
			// Such a number is not one the trunk can route.
			if again, err := p.parse(out); err != nil || phonenumbers.Format(again, phonenumbers.E164) != out {
				return "", fmt.Errorf("numbering: %q has no stable E.164 form: %w", number, ErrInvalidNumber)
			}
			return out, nil
		}
		return p.national(n), nil
	}
	return number, nil
}

// Inbound rewrites a caller number that came from the trunk named trunk
// into the form the phones are shown (Options.Present, with the outside
// prefix). Numbers that are not valid phone numbers for the home region
// (internal extensions, "anonymous") are returned unchanged. trunk is
// accepted for per-trunk rules to come; today every trunk is the same.
func (p *Plan) Inbound(trunk, number string) string {
	_ = trunk
	if number == "" || p.present == AsReceived {
		return number
	}
	n, err := phonenumbers.Parse(number, p.regionOr("ZZ"))
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return number
	}
	if p.present == E164 {
		return phonenumbers.Format(n, phonenumbers.E164)
	}
	return p.outside + p.national(n)
}

// parse reads number as a phone number of the home region (or any region
// with a leading + or international prefix) and checks that it is
// possible (right length for its country).
func (p *Plan) parse(number string) (*phonenumbers.PhoneNumber, error) {
	if !dialable(number) {
		return nil, fmt.Errorf("numbering: %q: not digits: %w", number, ErrInvalidNumber)
	}
	n, err := phonenumbers.Parse(number, p.regionOr("ZZ"))
	if err != nil {
		return nil, fmt.Errorf("numbering: %q: %v: %w", number, err, ErrInvalidNumber)
	}
	if !phonenumbers.IsPossibleNumber(n) {
		return nil, fmt.Errorf("numbering: %q is not a possible number: %w", number, ErrInvalidNumber)
	}
	return n, nil
}

// national writes n as dialled from the home region: national format for
// its own numbers, the international prefix for others, digits only.
func (p *Plan) national(n *phonenumbers.PhoneNumber) string {
	s := phonenumbers.FormatOutOfCountryCallingNumber(n, p.region)
	var b strings.Builder
	for i, c := range s {
		if c >= '0' && c <= '9' || c == '+' && i == 0 {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func (p *Plan) regionOr(def string) string {
	if p.region == "" {
		return def
	}
	return p.region
}

// dialable reports whether s is digits with an optional leading +: the
// only input E164 and National accept (phonenumbers would also read
// letters and punctuation, which phones do not dial).
func dialable(s string) bool {
	if strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
