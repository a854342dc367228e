package e2e

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// fakeDNS is a DNS server on 127.0.0.1:<free port> (UDP) answering from
// records in zone-file syntax, with an RCODE (or silence, -1) per
// "name TYPE": a DNS filter or corporate server that refuses NAPTR.
type fakeDNS struct {
	Addr   string
	mu     sync.Mutex
	rrs    []dns.RR
	byType map[string]int
}

func startFakeDNS(t *testing.T, byType map[string]int, records ...string) *fakeDNS {
	t.Helper()
	f := &fakeDNS{byType: byType}
	for _, s := range records {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("record %q: %v", s, err)
		}
		f.rrs = append(f.rrs, rr)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.Addr = pc.LocalAddr().String()
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(f.serve)}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return f
}

func (f *fakeDNS) serve(w dns.ResponseWriter, q *dns.Msg) {
	if len(q.Question) != 1 {
		return
	}
	qq := q.Question[0]
	name := strings.ToLower(qq.Name)
	r := new(dns.Msg)
	f.mu.Lock()
	rcode, odd := f.byType[name+" "+dns.TypeToString[qq.Qtype]]
	f.mu.Unlock()
	switch {
	case odd && rcode < 0:
		return
	case odd:
		r.SetRcode(q, rcode)
	default:
		r.SetReply(q)
		exists := false
		for _, rr := range f.rrs {
			if strings.EqualFold(rr.Header().Name, name) {
				exists = true
				if rr.Header().Rrtype == qq.Qtype {
					r.Answer = append(r.Answer, dns.Copy(rr))
				}
			}
		}
		if !exists {
			r.Rcode = dns.RcodeNameError
		}
		if len(r.Answer) == 0 {
			soa, _ := dns.NewRR("test. 60 IN SOA ns.test. host.test. 1 60 60 60 5")
			r.Ns = append(r.Ns, soa)
		}
	}
	r.RecursionAvailable = true
	_ = w.WriteMsg(r)
}

// TestTrunkNAPTRRefused: the DNS server answers NAPTR with REFUSED,
// SERVFAIL or nothing at all (DNS filters and some corporate servers do);
// the trunk still resolves through SRV (RFC 3263 §4.1) and calls reach the
// PBX, with one log line about it.
func TestTrunkNAPTRRefused(t *testing.T) {
	requireTool(t, "sipp")
	for _, tc := range []struct {
		name  string
		rcode int
	}{{"refused", dns.RcodeRefused}, {"servfail", dns.RcodeServerFailure}, {"timeout", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			port := freeUDPPort(t, "127.0.0.2")
			d := startFakeDNS(t, map[string]int{"pbx.example.test. NAPTR": tc.rcode},
				fmt.Sprintf("_sip._udp.pbx.example.test. 60 IN SRV 10 0 %d primary.pbx.example.test.", port),
				"primary.pbx.example.test. 60 IN A 127.0.0.2",
			)
			uas := newFailoverUAS(t, "127.0.0.2", port)
			uas.start()
			g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
security: {trusted_callers: [127.0.0.0/8], exempt_sources: [127.0.0.0/8]}
dns: {servers: [%s], ipv6: false, timeout: 300ms, attempts: 1}
trunks:
  - name: pbx
    target: sip:pbx.example.test
    match: ["2000"]
    probe: {interval: 0s}
`, d.Addr))
			out, err, failed := startUAC(t, g.UDP, 2, 10)()
			if err != nil || failed != 0 {
				t.Fatalf("sipp uac: %v, %d failed\n%s\ngateway:\n%s", err, failed, tail(out, 3000), tail(g.log.String(), 3000))
			}
			if n := uas.invites(); n != 2 {
				t.Fatalf("the PBX took %d calls, want 2", n)
			}
			if n := strings.Count(g.log.String(), "NAPTR lookup failed"); n != 1 {
				t.Errorf("NAPTR failure logged %d times, want once:\n%s", n, tail(g.log.String(), 3000))
			}
		})
	}
}

// TestTrunkRequestsLeaveFromListener: the INVITE to a trunk and the
// OPTIONS probes leave from the gateway's UDP listener (the port the PBX
// knows and the firewall opened), not from an ephemeral port.
func TestTrunkRequestsLeaveFromListener(t *testing.T) {
	pbx := newRawPBX(t, "127.0.0.2")
	g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
security: {trusted_callers: [127.0.0.0/8], exempt_sources: [127.0.0.0/8]}
trunks:
  - {name: pbx, target: "sip:127.0.0.2:%d", failover_timeout: 2s, timeout: 3s, probe: {interval: 300ms, mode: all}, match: ["2000"]}
`, pbx.port()))
	want := g.UDP
	opt, from := pbx.next(5*time.Second, "OPTIONS")
	if opt == "" {
		t.Fatal("no OPTIONS probe reached the trunk")
	}
	if from.String() != want {
		t.Errorf("OPTIONS probe came from %s, want the listener %s", from, want)
	}
	pbx.send(response(opt, 200, "OK", "p1", "", ""), from)

	ph := newPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := call(ctx, ph, g.UDP, "2000", phoneSDP)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.WaitAnswer(ctx, answerOpts()) }()
	inv, from := pbx.next(5*time.Second, "INVITE")
	if inv == "" {
		t.Fatal("the trunk got no INVITE")
	}
	if from.String() != want {
		t.Errorf("INVITE came from %s, want the listener %s", from, want)
	}
	pbx.send(response(inv, 486, "Busy Here", "b1", "", ""), from)
}
