package config

import "net/netip"

// defaultAPIAllow are the sources the admin API answers by default: this
// host's own loopback addresses, not all of 127.0.0.0/8 (containers and
// test harnesses bind other loopback addresses for other parties).
var defaultAPIAllow = []string{"127.0.0.1", "::1"}

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
