package b2bua

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/gateway/cdr"
	"github.com/switchboard-gw/switchboard/gateway/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestBest(t *testing.T) {
	tests := []struct {
		name   string
		finals []int
		status int
	}{
		{"all busy", []int{486, 486, 486}, 486},
		{"one busy, one timed out", []int{486, 408}, 480},
		{"one busy, one declined", []int{486, 603}, 603},
		{"specific beats generic", []int{480, 488, 486}, 488},
		{"lowest class", []int{503, 404}, 404},
		{"all unreachable", []int{503, 408}, 480},
		{"busy everywhere", []int{600, 486}, 600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fork{}
			for _, code := range tt.finals {
				f.branches = append(f.branches, &branch{final: code, reason: fmt.Sprint(code)})
			}
			if got := classify(f.best()).Status; got != tt.status {
				t.Errorf("best of %v = %d, want %d", tt.finals, got, tt.status)
			}
		})
	}
	if got := classify((&fork{}).best()).Status; got != 480 {
		t.Errorf("no branch: %d, want 480", got)
	}
}

func newTestB2BUA(o Options) *B2BUA {
	if o.Users == nil {
		o.Users = fakeUsers{"u1000": true, "u1001": true}
	}
	if o.Router == nil {
		o.Router = Routes(nil)
	}
	if o.Domain == "" {
		o.Domain = "example.com"
	}
	return New(o)
}

type fakeUsers map[string]bool

func (f fakeUsers) HA1(u, _ string) (string, bool) { return "x", f[u] }

type fakeLocal map[string]string

func (f fakeLocal) Local(n string) (string, bool) { u, ok := f[n]; return u, ok }

type fakeLocation map[string][]store.Binding

func (f fakeLocation) Lookup(aor string, _ time.Time) []store.Binding { return f[aor] }

func TestLoopMarks(t *testing.T) {
	b := newTestB2BUA(Options{})
	other := newTestB2BUA(Options{})
	br, cid := b.newBranch(), b.newCallID()
	if !strings.HasPrefix(br, sip.RFC3261BranchMagicCookie) {
		t.Errorf("branch %q lacks the magic cookie", br)
	}
	if !b.ourBranch(br) || !b.ourCallID(cid) {
		t.Error("own marks not recognised")
	}
	if other.ourBranch(br) || other.ourCallID(cid) {
		t.Error("another gateway's marks taken as ours")
	}
	for _, s := range []string{"", "z9hG4bK", "z9hG4bKsb", br[:len(br)-1] + "x", sip.GenerateBranch()} {
		if b.ourBranch(s) {
			t.Errorf("ourBranch(%q) = true", s)
		}
	}
	for _, s := range []string{"", "abc-sb", cid + "0", "x-sb12345678"} {
		if b.ourCallID(s) {
			t.Errorf("ourCallID(%q) = true", s)
		}
	}
}

func invite(t *testing.T, lines ...string) *sip.Request {
	t.Helper()
	raw := "INVITE sip:1001@example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc\r\n" +
		"From: <sip:u1000@example.com>;tag=a\r\nTo: <sip:1001@example.com>\r\n" +
		"CSeq: 1 INVITE\r\n" + strings.Join(lines, "\r\n")
	if len(lines) > 0 {
		raw += "\r\n"
	}
	raw += "Content-Length: 0\r\n\r\n"
	msg, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return msg.(*sip.Request)
}

func TestCheckHops(t *testing.T) {
	b := newTestB2BUA(Options{})
	tests := []struct {
		name  string
		lines []string
		mf    int
		err   error
	}{
		{"default", []string{"Call-ID: a"}, 69, nil},
		{"decremented", []string{"Call-ID: a", "Max-Forwards: 10"}, 9, nil},
		{"last hop", []string{"Call-ID: a", "Max-Forwards: 1"}, 0, nil},
		{"zero", []string{"Call-ID: a", "Max-Forwards: 0"}, 0, ErrTooManyHops},
		{"our Call-ID", []string{"Call-ID: " + b.newCallID(), "Max-Forwards: 70"}, 0, ErrLoop},
		{"our Via", []string{"Call-ID: a", "Via: SIP/2.0/UDP 10.0.0.1;branch=" + b.newBranch()}, 0, ErrLoop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mf, err := b.checkHops(invite(t, tt.lines...))
			if !errors.Is(err, tt.err) || (err == nil && mf != tt.mf) {
				t.Errorf("checkHops = %d, %v; want %d, %v", mf, err, tt.mf, tt.err)
			}
		})
	}
	if o := classify(ErrLoop); o.Status != 482 {
		t.Errorf("loop: %d", o.Status)
	}
	if o := classify(ErrTooManyHops); o.Status != 483 {
		t.Errorf("hops: %d", o.Status)
	}
}

func TestResolve(t *testing.T) {
	pbx, vm := &dnssrv.Trunk{}, &dnssrv.Trunk{}
	bnd := store.Binding{AOR: "u1001@example.com", ContactURI: "sip:u1001@10.0.0.9:5062"}
	b := newTestB2BUA(Options{
		Router:   Routes{{Trunk: pbx, Match: []string{"2000", "9x"}}, {Trunk: vm, Match: []string{"1x"}}},
		Local:    fakeLocal{"u1001": "u1001", "1001": "u1001", "2000": "u2000", "1002": "u1002"},
		Location: fakeLocation{"u1001@example.com": {bnd}},
	})
	tests := []struct {
		num, user string
		contacts  int
		trunk     *dnssrv.Trunk
		inbound   bool
		err       error
	}{
		{num: "u1001", user: "u1001", contacts: 1},
		{num: "1001", user: "u1001", contacts: 1},
		{num: "1002", user: "u1002"},   // a user without devices
		{num: "2000", trunk: pbx},      // an exact trunk match beats a user
		{num: "1003", trunk: vm},       // a wildcard match only when no user
		{num: "9123", trunk: pbx},      // numbering plan
		{num: "3000", err: ErrNoRoute}, // nothing
		{num: "1001", user: "u1001", contacts: 1, inbound: true},
		{num: "9123", inbound: true, err: ErrNoRoute}, // no trunk-to-trunk transit
		{num: "2000", user: "u2000", inbound: true},
	}
	for _, tt := range tests {
		tgt, err := b.resolve(tt.num, tt.inbound)
		if !errors.Is(err, tt.err) || tgt.user != tt.user || tgt.trunk != tt.trunk || len(tgt.contacts) != tt.contacts {
			t.Errorf("resolve(%q, inbound %v) = %+v, %v", tt.num, tt.inbound, tgt, err)
		}
	}
}

func TestInboundSource(t *testing.T) {
	trusted := netip.MustParsePrefix("10.1.0.0/16")
	b := newTestB2BUA(Options{TrustedCallers: trusted.Contains})
	tests := []struct {
		name, from, src string
		inbound         bool
	}{
		{"trusted PBX", "<sip:5551234@10.1.2.3>;tag=x", "10.1.2.3:5060", true},
		{"untrusted source", "<sip:5551234@10.2.2.3>;tag=x", "10.2.2.3:5060", false},
		{"our user from a trusted LAN must authenticate", "<sip:u1000@example.com>;tag=x", "10.1.2.3:5060", false},
		{"unknown name in our domain from a trusted PBX", "<sip:4711@example.com>;tag=x", "10.1.2.3:5060", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := invite(t, "Call-ID: a")
			req.ReplaceHeader(sip.NewHeader("From", tt.from))
			msg, err := sip.ParseMessage([]byte(req.String()))
			if err != nil {
				t.Fatal(err)
			}
			req = msg.(*sip.Request)
			req.SetSource(tt.src)
			who, ok := b.inbound(req)
			if ok != tt.inbound {
				t.Fatalf("inbound = %v, want %v", ok, tt.inbound)
			}
			if ok && (who.user != "" || who.number == "") {
				t.Errorf("caller %+v", who)
			}
		})
	}
}

// TestDiversionHeaders compares the Diversion and History-Info headers of
// a diverted INVITE with testdata/diversion.golden.
func TestDiversionHeaders(t *testing.T) {
	b := newTestB2BUA(Options{Divert: func(u string) (Divert, bool) {
		return Divert{Busy: "8000", NoAnswer: "8001", NoAnswerTimeout: 5 * time.Second}, u == "u1001"
	}})
	c := &call{gw: b, num: "1001"}
	var out strings.Builder
	for _, err := range []error{&statusError{486, "Busy Here"}, fmt.Errorf("%w: x", ErrNoAnswer), ErrUnavailable, &statusError{404, "Not Found"}} {
		dv, ok := c.divertFor("u1001", err)
		fmt.Fprintf(&out, "# %v: divert %v\n", err, ok)
		if !ok {
			continue
		}
		for _, h := range c.diversionHeaders(dv) {
			fmt.Fprintf(&out, "%s: %s\n", h.Name(), h.Value())
		}
	}
	if _, ok := c.divertFor("u1000", &statusError{486, "Busy Here"}); ok {
		t.Error("u1000 has no diversion")
	}
	if d := c.noAnswerTimeout("u1001"); d != 5*time.Second {
		t.Errorf("no-answer timeout %v", d)
	}
	if d := c.noAnswerTimeout("u1000"); d != ringTimeout {
		t.Errorf("default ring timeout %v", d)
	}
	c.diverted = &diversion{}
	if _, ok := c.divertFor("u1001", &statusError{486, "Busy Here"}); ok {
		t.Error("a call is diverted once only")
	}
	golden(t, "testdata/diversion.golden", out.String())
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestReliableA(t *testing.T) {
	req := invite(t, "Call-ID: a", "Require: 100rel")
	var r reliableA
	r.init(req)
	if !r.on {
		t.Fatal("Require: 100rel not seen")
	}
	if r.prack(r.rseq, 1) {
		t.Error("PRACK accepted with nothing pending")
	}
	r.rseq++
	r.acked = make(chan struct{})
	if r.prack(r.rseq+1, 1) || r.prack(r.rseq, 2) {
		t.Error("PRACK with the wrong RSeq or CSeq accepted")
	}
	if !r.prack(r.rseq, 1) || !isClosed(r.acked) {
		t.Error("matching PRACK refused")
	}
	if !r.prack(r.rseq, 1) {
		t.Error("repeated PRACK refused")
	}
	var plain reliableA
	plain.init(invite(t, "Call-ID: a", "Supported: 100rel, timer"))
	if plain.on {
		t.Error("Supported alone turned reliable provisionals on")
	}
}

func TestRecord(t *testing.T) {
	b := newTestB2BUA(Options{})
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := &call{gw: b, from: caller{user: "u1000"}, num: "1001", started: start, answered: start.Add(2 * time.Second),
		a: &dialog{callID: "cid", localTag: "tag"}}
	c.info.direction = cdr.Local
	c.info.target = "u1001"
	c.info.answeredBy = "u1001"
	c.setEndedBy(endedByCaller)
	c.setEndedBy(endedByGateway) // the first one stays
	r := c.record(200, CauseNormal, start.Add(62*time.Second))
	if r.ID != "cid;tag" || r.Caller != "u1000" || r.Callee != "1001" || r.Direction != cdr.Local ||
		r.EndedBy != endedByCaller || r.Duration() != time.Minute || r.Status != 200 || r.Cause != "normal" {
		t.Errorf("record %+v", r)
	}
}
