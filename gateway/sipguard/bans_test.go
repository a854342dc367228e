package sipguard

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func banGuard(t *testing.T, mod func(*Options)) (*Guard, *time.Time, *[]Ban) {
	t.Helper()
	now := time.Unix(1000, 0)
	var bans []Ban
	o := Options{Now: func() time.Time { return now }, Logger: quietLogger(),
		BanFailures: 3, BanWindow: time.Minute, BanDuration: time.Hour, ScanUsers: 5,
		OnBan: func(b Ban) { bans = append(bans, b) }}
	if mod != nil {
		mod(&o)
	}
	return New(o), &now, &bans
}

// TestSuccessResetsOnlyItsOwnCount: behind one NAT, a phone that
// registers fine does not wipe the attacker's failures on another user.
func TestSuccessResetsOnlyItsOwnCount(t *testing.T) {
	g, _, _ := banGuard(t, nil)
	ip := netip.MustParseAddr("192.0.2.7")
	g.AuthFailed(ip, "boss")
	g.AuthFailed(ip, "boss")
	g.AuthSucceeded(ip, "u1000") // the legitimate phone next door
	g.AuthSucceeded(ip, "u1000")
	if g.Banned(ip) {
		t.Fatal("banned after 2 failures")
	}
	g.AuthFailed(ip, "boss")
	if !g.Banned(ip) {
		t.Fatal("u1000's success reset boss's failure count")
	}
}

func TestIPv6CountedAndBannedPer64(t *testing.T) {
	g, _, bans := banGuard(t, nil)
	for i := range 3 {
		g.AuthFailed(netip.MustParseAddr(fmt.Sprintf("2001:db8:1:2::%x", i+1)), "u1000")
	}
	if !g.Banned(netip.MustParseAddr("2001:db8:1:2:ffff::1")) {
		t.Fatal("failures from three addresses of one /64 did not ban the /64")
	}
	if g.Banned(netip.MustParseAddr("2001:db8:1:3::1")) {
		t.Fatal("neighbouring /64 banned")
	}
	if len(*bans) != 1 || (*bans)[0].IP != netip.MustParseAddr("2001:db8:1:2::") {
		t.Fatalf("bans %v, want the /64's network address", *bans)
	}
	if !g.Unban(netip.MustParseAddr("2001:db8:1:2::99")) || g.Banned(netip.MustParseAddr("2001:db8:1:2::1")) {
		t.Fatal("Unban of an address of the /64 did not lift the ban")
	}
}

func TestScannerManyUsernames(t *testing.T) {
	g, _, bans := banGuard(t, nil)
	ip := netip.MustParseAddr("192.0.2.8")
	for i := range 4 {
		g.AuthFailed(ip, fmt.Sprintf("%d", 100+i))
	}
	g.AuthFailed(ip, "100") // a name seen already does not count twice
	if g.Banned(ip) {
		t.Fatal("banned after 4 distinct usernames")
	}
	g.Probe(ip, "200")
	if !g.Banned(ip) || !strings.HasPrefix((*bans)[0].Reason, "scanner") {
		t.Fatalf("5 distinct usernames: bans %v", *bans)
	}
}

func TestDistributedAttackOnOneUser(t *testing.T) {
	g, _, _ := banGuard(t, func(o *Options) { o.ScanUsers = 0 })
	// Five sources, one failure each: the username is under attack.
	for i := range 5 {
		g.AuthFailed(netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)}), "boss")
	}
	late := netip.MustParseAddr("198.51.100.50")
	g.AuthFailed(late, "boss")
	if g.Banned(late) {
		t.Fatal("banned at the first failure")
	}
	g.AuthFailed(late, "boss")
	if !g.Banned(late) {
		t.Fatal("second failure on a username under attack did not ban")
	}
	other := netip.MustParseAddr("198.51.100.60")
	g.AuthFailed(other, "u1000")
	g.AuthFailed(other, "u1000")
	if g.Banned(other) {
		t.Fatal("a user not under attack banned at 2 failures")
	}
}

func TestWindowExpires(t *testing.T) {
	g, now, _ := banGuard(t, nil)
	ip := netip.MustParseAddr("192.0.2.9")
	g.AuthFailed(ip, "u")
	g.AuthFailed(ip, "u")
	*now = now.Add(2 * time.Minute)
	g.AuthFailed(ip, "u")
	if g.Banned(ip) {
		t.Fatal("failures outside the window counted")
	}
}

func TestProtectedNeverBanned(t *testing.T) {
	g, _, bans := banGuard(t, nil)
	pbx := netip.MustParseAddr("203.0.113.5")
	g.SetProtected(func(ip netip.Addr) bool { return ip == pbx })
	for i := range 20 {
		g.AuthFailed(pbx, fmt.Sprintf("u%d", i))
		g.Probe(pbx, fmt.Sprintf("x%d", i))
	}
	g.Ban(pbx, time.Hour, "manual")
	if g.Banned(pbx) || len(*bans) != 0 {
		t.Fatalf("protected address banned: %v", *bans)
	}
	if n := g.fails.size(); n != 0 {
		t.Errorf("%d failure records kept for a protected address", n)
	}
}

func TestTablesBounded(t *testing.T) {
	g, _, _ := banGuard(t, func(o *Options) {
		o.MaxTracked, o.MaxBans, o.BanFailures, o.ScanUsers = 640, 128, 1000, 0
	})
	for i := range 20000 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		g.AuthFailed(ip, fmt.Sprintf("user%d", i))
		g.Ban(ip, time.Hour, "manual")
	}
	if n := g.fails.size(); n > 640+tableShards {
		t.Errorf("failure table holds %d records, bound 640", n)
	}
	if n := len(g.Bans()); n > 128+tableShards || int(g.bans.n.Load()) != n {
		t.Errorf("ban table holds %d (counter %d), bound 128", n, g.bans.n.Load())
	}
	// The newest ban is in force.
	if !g.Banned(netip.AddrFrom4([4]byte{10, 0, 78, 31})) {
		t.Error("latest ban evicted")
	}
}

func TestScannerAgentMatch(t *testing.T) {
	s := newScannerAgents(DefaultScannerAgents)
	tests := []struct {
		head string
		want bool
	}{
		{"OPTIONS sip:100@x SIP/2.0\r\nUser-Agent: friendly-scanner\r\n\r\n", true},
		{"REGISTER sip:x SIP/2.0\r\nuser-agent :  SIPVicious 0.3.4\r\n\r\n", true},
		{"INVITE sip:x SIP/2.0\r\nUSER-AGENT:sipcli/v1.8\r\n\r\n", true},
		{"INVITE sip:x SIP/2.0\r\nUser-Agent: VaxSIPUserAgent/3.1\r\n\r\n", true},
		{"REGISTER sip:x SIP/2.0\r\nUser-Agent: Yealink SIP-T46S 66.86.0.15\r\n\r\n", false},
		{"REGISTER sip:x SIP/2.0\r\nUser-Agent: MySIPClient/2.1\r\n\r\n", false},
		{"REGISTER sip:x SIP/2.0\r\nUser-Agent: Zoiper rv2.10.20.4\r\n\r\n", false},
		{"REGISTER sip:x SIP/2.0\r\nUser-Agent: Linphone/5.2.0 (belle-sip/5.2.0)\r\n\r\n", false},
		{"REGISTER sip:x SIP/2.0\r\nUser-Agent: MicroSIP/3.21.5\r\n\r\n", false},
		{"REGISTER sip:x SIP/2.0\r\nUser-Agent-X: friendly-scanner\r\n\r\n", false},
		{"REGISTER sip:x SIP/2.0\r\nSubject: friendly-scanner\r\n\r\n", false},
		{"REGISTER sip:x SIP/2.0\r\nUser-Agent: baresip\r\n\r\nfriendly-scanner", false},
	}
	for _, tt := range tests {
		if got := s.match([]byte(tt.head)); got != tt.want {
			t.Errorf("match(%q) = %v, want %v", tt.head, got, tt.want)
		}
	}
	if newScannerAgents(nil).match([]byte(tests[0].head)) {
		t.Error("empty list matched")
	}
}

func TestRestoreDoesNotPersistAgain(t *testing.T) {
	g, _, bans := banGuard(t, nil)
	ip := netip.MustParseAddr("192.0.2.44")
	g.Restore(ip, time.Minute, "auth failures")
	if !g.Banned(ip) || len(*bans) != 0 {
		t.Fatalf("Restore: banned %v, OnBan calls %v", g.Banned(ip), *bans)
	}
}
