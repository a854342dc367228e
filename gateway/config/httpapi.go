package config

import "net/netip"

// defaultAPIAllow are the sources the API answers by default: any. Every
// /api/ route needs an account (session, token or Basic), so the HTTPS
// port is usable from other machines; api_allow narrows it to a
// management network when wanted.
var defaultAPIAllow = []string{"0.0.0.0/0", "::/0"}

func (d *decoder) validateAPIAllow(allow []string) {
	for i, s := range allow {
		if _, err := parsePrefix(s); err != nil {
			d.errorf(index("http.api_allow", i), "%v", err)
		}
	}
}

// APIAllowPrefixes returns http.api_allow parsed. Entries that do not parse
// are skipped; a validated Config has none.
func (c *Config) APIAllowPrefixes() []netip.Prefix {
	ps := make([]netip.Prefix, 0, len(c.HTTP.APIAllow))
	for _, s := range c.HTTP.APIAllow {
		if p, err := parsePrefix(s); err == nil {
			ps = append(ps, p)
		}
	}
	return ps
}
