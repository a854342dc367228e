package b2bua

import (
	"strings"

	"github.com/switchboard-gw/switchboard/dnssrv"
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
