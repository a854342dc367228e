package b2bua

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/dnssrv"
)

// prefixPlan is a numbering plan that refuses numbers starting 99 and
// sends the others with a 0 in front.
type prefixPlan struct{}

func (prefixPlan) Outbound(_, n string) (string, error) {
	if strings.HasPrefix(n, "99") {
		return "", errors.New("not a number")
	}
	return "0" + n, nil
}
func (prefixPlan) Inbound(_, n string) string { return n }

// TestRouteTransfer: a blind transfer is routed as a new call from the
// transferor: an authenticated user's reaches trunks through the
// numbering plan; an unauthenticated transferor's (a trunk, a trusted
// host) reaches local users only, anything else is 403.
func TestRouteTransfer(t *testing.T) {
	carrier := &dnssrv.Trunk{}
	b := newTestB2BUA(Options{
		Router:    Routes{{Trunk: carrier, Match: []string{"0x", "9x"}}},
		Local:     fakeLocal{"1001": "u1001"},
		Numbering: prefixPlan{},
	})
	c := &call{gw: b}
	tests := []struct {
		name, user, num string
		status          int // 0: allowed
		trunk           bool
		out             string
	}{
		{"user to a premium number", "u1000", "09001234567", 0, true, "009001234567"},
		{"user to a local user", "u1000", "1001", 0, false, "1001"},
		{"user to nowhere", "u1000", "777", 404, false, ""},
		{"user to a number the plan refuses", "u1000", "99123", 484, false, ""},
		{"trunk to a premium number", "", "09001234567", 403, false, ""},
		{"trunk to a trunk number", "", "9123", 403, false, ""},
		{"trunk to a local user", "", "1001", 0, false, "1001"},
	}
	for _, tt := range tests {
		x := &dialog{user: tt.user}
		tr, err := c.routeTransfer(x, tt.num)
		if tt.status != 0 {
			if err == nil {
				t.Errorf("%s: allowed to %+v, want %d", tt.name, tr.tgt, tt.status)
				continue
			}
			if code, _ := transferRefusal(err); code != tt.status {
				t.Errorf("%s: %d (%v), want %d", tt.name, code, err, tt.status)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if (tr.tgt.trunk != nil) != tt.trunk || tr.out != tt.out || tr.num != tt.num {
			t.Errorf("%s: trunk %v out %q num %q, want trunk %v out %q", tt.name, tr.tgt.trunk != nil, tr.out, tr.num, tt.trunk, tt.out)
		}
	}
}

// TestPartyOf: a requester is a party of a call when authenticated as the
// user of one of its legs or when it sends from one of its legs' peer
// addresses; another user, or a stranger's address, is not.
func TestPartyOf(t *testing.T) {
	b := newTestB2BUA(Options{})
	a := &dialog{user: "u1000"}
	a.addPeer("192.0.2.10:5060")
	pbx := &dialog{}
	pbx.addPeer("198.51.100.2:5060")
	l := &leg{d: a, peer: pbx}
	ip := netip.MustParseAddr
	tests := []struct {
		name  string
		user  string
		addrs []netip.Addr
		want  bool
	}{
		{"the leg's user", "u1000", nil, true},
		{"another user", "u1001", nil, false},
		{"the leg's address", "", []netip.Addr{ip("192.0.2.10")}, true},
		{"the other leg's address", "", []netip.Addr{ip("198.51.100.2")}, true},
		{"a stranger", "", []netip.Addr{ip("203.0.113.9")}, false},
		{"nobody", "", nil, false},
	}
	for _, tt := range tests {
		if got := b.partyOf(l, tt.user, tt.addrs); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
