package dnssrv

import (
	"context"
	"math"
	"testing"

	"github.com/miekg/dns"
)

func srv(prio, weight uint16, target string) *dns.SRV {
	return &dns.SRV{Hdr: dns.RR_Header{Rrtype: dns.TypeSRV, Class: dns.ClassINET}, Priority: prio, Weight: weight, Port: 5060, Target: target}
}

// TestSRVWeights draws many orders and checks that, within a priority,
// each record comes first with probability weight/sum (RFC 2782), that
// lower priorities always come first, and that "." is dropped.
func TestSRVWeights(t *testing.T) {
	tests := []struct {
		name  string
		set   []*dns.SRV
		first map[string]float64 // expected share of first place
	}{
		{"60/30/10", []*dns.SRV{srv(10, 60, "a."), srv(10, 30, "b."), srv(10, 10, "c."), srv(20, 100, "z.")},
			map[string]float64{"a.": 0.6, "b.": 0.3, "c.": 0.1}},
		// Weight 0 next to others: chosen first with chance 1/(sum+1).
		{"zero among others", []*dns.SRV{srv(1, 0, "zero."), srv(1, 9, "nine.")},
			map[string]float64{"zero.": 0.1, "nine.": 0.9}},
		// All weight 0: each order is allowed; the answer order is kept.
		{"all zero", []*dns.SRV{srv(1, 0, "a."), srv(1, 0, "b.")},
			map[string]float64{"a.": 1}},
		{"dot dropped", []*dns.SRV{srv(0, 0, "."), srv(5, 1, "a.")}, map[string]float64{"a.": 1}},
	}
	const draws = 20000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			count := map[string]int{}
			for range draws {
				in := append([]*dns.SRV(nil), tt.set...)
				out := orderSRV(in, randN)
				count[out[0].Target]++
				for i := 1; i < len(out); i++ {
					if out[i].Priority < out[i-1].Priority {
						t.Fatalf("priority order broken: %v", out)
					}
				}
				for _, r := range out {
					if r.Target == "." {
						t.Fatal(`"." kept`)
					}
				}
			}
			for name, p := range tt.first {
				got := float64(count[name]) / draws
				// 4.5 standard deviations of a binomial share, at least 0.005.
				tol := max(4.5*math.Sqrt(p*(1-p)/draws), 0.005)
				if math.Abs(got-p) > tol {
					t.Errorf("%s first %.4f of draws, want %.2f ± %.4f", name, got, p, tol)
				}
			}
		})
	}
}

// TestSRVWeightsThroughResolver: the order is drawn anew on every lookup,
// also from the cache.
func TestSRVWeightsThroughResolver(t *testing.T) {
	z := newZone(t,
		"_sip._udp.w.test. 60 IN SRV 10 75 5060 a.w.test.",
		"_sip._udp.w.test. 60 IN SRV 10 25 5060 b.w.test.",
		"a.w.test. 60 IN A 192.0.2.1",
		"b.w.test. 60 IN A 192.0.2.2",
	)
	r := newTestResolver(t, Options{IPv4Only: true}, z.Addr)
	const draws = 4000
	a := 0
	for range draws {
		ts, err := r.Resolve(context.Background(), "sip:w.test;transport=udp")
		if err != nil || len(ts) != 2 {
			t.Fatal(ts, err)
		}
		if ts[0].Host == "a.w.test" {
			a++
		}
	}
	if got := float64(a) / draws; math.Abs(got-0.75) > 4.5*math.Sqrt(0.75*0.25/draws) {
		t.Errorf("a first in %.3f of lookups, want 0.75", got)
	}
	if n := z.total(); n != 3 { // SRV and two A
		t.Errorf("%d queries for %d cached lookups", n, draws)
	}
}

func TestNAPTROrder(t *testing.T) {
	n := func(order, pref uint16, flags, service, regexp, repl string) *dns.NAPTR {
		return &dns.NAPTR{Order: order, Preference: pref, Flags: flags, Service: service, Regexp: regexp, Replacement: repl}
	}
	all := func(Transport) bool { return true }
	set := []*dns.NAPTR{
		n(20, 1, "s", "SIP+D2U", "", "_sip._udp.late."),
		n(10, 30, "S", "SIP+D2T", "", "_sip._tcp.x."),
		n(10, 10, "s", "sips+d2t", "", "_sips._tcp.x."),
		n(10, 20, "s", "SIP+D2W", "", "_sip._ws.x."),
		n(1, 1, "s", "E2U+sip", "", "_sip._udp.enum."), // not SIP
		n(1, 1, "u", "SIP+D2U", "!^.*$!sip:x!", "."),   // a URI rule
		n(1, 1, "s", "SIP+D2U", "", "."),               // no replacement
		n(1, 1, "s", "SIP+D2S", "", "_sip._sctp.x."),   // SCTP: unsupported
	}
	got := orderNAPTR(set, false, all)
	want := []string{"_sips._tcp.x.", "_sip._ws.x.", "_sip._tcp.x."}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i].srv != want[i] {
			t.Errorf("[%d] = %s, want %s", i, got[i].srv, want[i])
		}
	}
	if got := orderNAPTR(set, true, all); len(got) != 1 || got[0].tp != TLS {
		t.Errorf("sips: %+v", got)
	}
	onlyUDP := func(tp Transport) bool { return tp == UDP }
	if got := orderNAPTR(set, false, onlyUDP); len(got) != 1 || got[0].srv != "_sip._udp.late." {
		t.Errorf("udp only: %+v", got)
	}
}
