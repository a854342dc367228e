// Package callpolicy decides whether a call may be placed: classes of
// service (which categories of number a party may dial), a destination
// deny-list, concurrent-call and calls-per-second caps per party and per
// trunk, and caps on calls in setup (ringing) per source and per trunk, so
// that a flood of INVITEs cannot take every port of the RTP relay.
//
// Numbers are classified with github.com/nyaruka/phonenumbers (Google's
// libphonenumber metadata) for a home region, on the number as it will be
// sent to the trunk. The package knows nothing of SIP: the B2BUA asks
// Admit and holds the Ticket it gets until the call ends.
//
// A Policy is safe for concurrent use.
package callpolicy

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// Category is the kind of destination a number is.
type Category string

// Categories, from the cheapest to the most expensive.
const (
	// Internal is a local user of the gateway (a username or extension).
	Internal Category = "internal"
	// Emergency is an emergency number of the home region (112, 911...).
	// Emergency calls are always admitted, whatever the class and caps.
	Emergency Category = "emergency"
	// Private is a number that is not a public phone number: a PBX
	// extension or feature code behind a trunk (2000, *97), written
	// without the region's national or international prefix.
	Private Category = "private"
	// TollFree is a freephone number of the home country.
	TollFree Category = "tollfree"
	// National is a public number of the home country (fixed, mobile,
	// VoIP, shared cost...), or one written with the national prefix.
	National Category = "national"
	// Special is a short service code of the home region that is not an
	// emergency number (directory enquiries, operator services), which
	// may be charged at a premium.
	Special Category = "special"
	// International is a number of another country, or any number
	// written with a + or the international prefix that the metadata
	// does not place in the home country.
	International Category = "international"
	// Premium is a premium-rate number (libphonenumber's PREMIUM_RATE),
	// at home or abroad.
	Premium Category = "premium"
)

// Categories lists every category, in the order above.
var Categories = []Category{Internal, Emergency, Private, TollFree, National, Special, International, Premium}

// ParseCategory returns the category named s.
func ParseCategory(s string) (Category, bool) {
	for _, c := range Categories {
		if string(c) == s {
			return c, true
		}
	}
	return "", false
}

// Classifier puts numbers into categories for a home region.
type Classifier struct {
	region   string // ISO 3166, upper case; "" = unknown
	national string // the region's national prefix (0)
	intl     string // the region's preferred international prefix (00)
}

// NewClassifier returns a Classifier for region (ISO 3166, as CH); "" means
// no home region: then only numbers with a + are parsed, 00 is read as the
// international prefix and 0 as the national one (ITU-T E.164 Annex A
// recommends these prefixes; North America uses 011 and 1, so set the
// region there).
func NewClassifier(region string) *Classifier {
	c := &Classifier{region: strings.ToUpper(region)}
	if c.region == "" {
		return c
	}
	c.national = phonenumbers.GetNddPrefixForRegion(c.region, true)
	if col, err := phonenumbers.MetadataCollection(); err == nil {
		for _, md := range col.GetMetadata() {
			if md.GetId() == c.region {
				c.intl = md.GetPreferredInternationalPrefix()
				if c.intl == "" && dialable(md.GetInternationalPrefix()) {
					c.intl = md.GetInternationalPrefix() // a plain prefix, not a pattern
				}
				break
			}
		}
	}
	return c
}

// Classification is what a number is: its category and, when it is a
// public number, its E.164 form (+41441234567), which the deny-list is
// matched against.
type Classification struct {
	Category Category
	E164     string
}

// Classify returns the category of number as it will be sent to a trunk.
func (c *Classifier) Classify(number string) Classification {
	n := dialString(number)
	if n == "" || !dialable(n) {
		if strings.HasPrefix(n, "+") {
			// A + and then more than digits is no feature code: judged
			// as abroad, the stricter category, never as private.
			return c.unparsed(n)
		}
		return Classification{Category: Private} // feature codes (*97, #31#)
	}
	if c.region != "" && phonenumbers.IsEmergencyNumber(n, c.region) {
		return Classification{Category: Emergency}
	}
	if c.region == "" {
		switch {
		case n == "112" || n == "911":
			return Classification{Category: Emergency}
		case strings.HasPrefix(n, "+"):
		case strings.HasPrefix(n, "00"):
			n = "+" + n[2:]
		case strings.HasPrefix(n, "0"):
			return Classification{Category: National}
		default:
			return Classification{Category: Private}
		}
	}
	p, err := phonenumbers.ParseAndKeepRawInput(n, c.regionOr("ZZ"))
	if err != nil {
		return c.unparsed(n)
	}
	intl := p.GetCountryCodeSource() == phonenumbers.PhoneNumber_FROM_NUMBER_WITH_PLUS_SIGN ||
		p.GetCountryCodeSource() == phonenumbers.PhoneNumber_FROM_NUMBER_WITH_IDD
	e164 := phonenumbers.Format(p, phonenumbers.E164)
	if !strings.HasPrefix(e164, "+") {
		// Format gives the raw input for a national number of 0.
		e164 = "+" + strconv.Itoa(int(p.GetCountryCode())) + phonenumbers.GetNationalSignificantNumber(p)
	}
	valid := phonenumbers.IsValidNumber(p)
	home := c.region != "" && int(p.GetCountryCode()) == phonenumbers.GetCountryCodeForRegion(c.region)
	if valid {
		// By region, not country code: +1 264 (Anguilla) is abroad for
		// the United States.
		home = home && phonenumbers.GetRegionCodeForNumber(p) == c.region
	}
	switch {
	case valid && phonenumbers.GetNumberType(p) == phonenumbers.PREMIUM_RATE:
		return Classification{Category: Premium, E164: e164}
	case !home:
		return Classification{Category: International, E164: e164}
	case valid && phonenumbers.GetNumberType(p) == phonenumbers.TOLL_FREE:
		return Classification{Category: TollFree, E164: e164}
	case valid || intl:
		return Classification{Category: National, E164: e164}
	}
	// A number of the home region the metadata does not know as a whole
	// number: a short code, one written with the national prefix, or a
	// PBX extension.
	if phonenumbers.IsValidShortNumberForRegion(p, c.region) {
		return Classification{Category: Special}
	}
	if c.national != "" && strings.HasPrefix(n, c.national) {
		return Classification{Category: National, E164: e164}
	}
	return Classification{Category: Private}
}

// unparsed classifies a number phonenumbers refused (too short, too long,
// an unknown country code).
func (c *Classifier) unparsed(n string) Classification {
	if strings.HasPrefix(n, "+") {
		return Classification{Category: International, E164: n}
	}
	if c.intl != "" && strings.HasPrefix(n, c.intl) {
		return Classification{Category: International, E164: "+" + n[len(c.intl):]}
	}
	if c.national != "" && strings.HasPrefix(n, c.national) {
		return Classification{Category: National}
	}
	return Classification{Category: Private}
}

func (c *Classifier) regionOr(def string) string {
	if c.region == "" {
		return def
	}
	return c.region
}

// dialString is what a trunk would dial of number: without the visual
// separators of RFC 3966 §5.1.1 (- . ( ) and spaces), and cut at a * or #
// after the first digit, which a PBX may take as the end of dialling
// (0044207946000# is an international call). A number starting with * or #
// is a feature code and stays as it is.
func dialString(number string) string {
	n := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || strings.ContainsRune("-.()", r) {
			return -1
		}
		return r
	}, number)
	if n == "" || n[0] == '*' || n[0] == '#' {
		return n
	}
	if i := strings.IndexAny(n, "*#"); i > 0 {
		n = n[:i]
	}
	return n
}

// dialable reports whether s is digits with an optional leading +.
func dialable(s string) bool {
	s = strings.TrimPrefix(s, "+")
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
