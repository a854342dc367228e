package callpolicy

import (
	"fmt"
	"strings"
)

// DefaultDeny are the E.164 prefixes refused by default, whatever the
// class: international services that are not countries, billed at
// premium or satellite rates and the classic terminations of
// International Revenue Share Fraud (IRSF). Premium-rate numbers that
// libphonenumber knows are refused by category (Premium) besides.
//
// Sources: ITU-T Operational Bulletin, "List of ITU-T Recommendation
// E.164 assigned country codes" (the shared codes 8xx/9xx: +870 Inmarsat
// SNAC, +881 Global Mobile Satellite System, +882 and +883 International
// Networks, +979 International Premium Rate Service); the CFCA and GSMA
// fraud surveys and carrier guidance (for example Plivo's "What are
// premium or high-risk numbers?" and commsrisk.com's "What Is New with
// IRSF Fraud?") name these ranges first among IRSF destinations. Whole
// countries that also appear there (Cuba, Latvia, Somalia...) are not
// refused by default: operators who never call them add them in
// call_policy.deny.
var DefaultDeny = []string{
	"+870", // Inmarsat SNAC (ITU-T E.164 shared code)
	"+881", // Global Mobile Satellite System (Iridium, Globalstar, Thuraya)
	"+882", // International Networks (ITU-T E.164 shared code)
	"+883", // International Networks (ITU-T E.164 shared code)
	"+979", // International Premium Rate Service (ITU-T E.164)
}

// denyList matches E.164 numbers against prefixes.
type denyList []string

// newDenyList checks prefixes: a + and 1 to 15 digits each.
func newDenyList(prefixes []string) (denyList, error) {
	out := make(denyList, 0, len(prefixes))
	for _, p := range prefixes {
		if err := ValidPrefix(p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// ValidPrefix checks a deny-list entry: + and 1 to 15 digits (ITU-T
// E.164 §6: at most 15 digits).
func ValidPrefix(p string) error {
	d, ok := strings.CutPrefix(p, "+")
	if !ok || d == "" || len(d) > 15 || !dialable(d) {
		return fmt.Errorf("%q is not an E.164 prefix: want + and 1 to 15 digits, as +979", p)
	}
	return nil
}

// match returns the prefix of e164 on the list, "" for none.
func (l denyList) match(e164 string) string {
	if e164 == "" {
		return ""
	}
	for _, p := range l {
		if strings.HasPrefix(e164, p) {
			return p
		}
	}
	return ""
}
