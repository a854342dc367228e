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

// lossyPBX is a trunk server on a bare UDP socket that drops the first
// INVITE it gets and is slow (300 ms) to answer its retransmission with
// 100 and 180, then rings until CANCELled (487); later calls it answers
// at once with 200. It answers OPTIONS, CANCEL and BYE, and records every
// request as "METHOD Call-ID".
type lossyPBX struct {
	conn net.PacketConn
	mu   sync.Mutex
	seen []string
	inv  map[string]string // Call-ID → its INVITE
	slow string            // Call-ID of the call whose INVITE was dropped
	done chan struct{}
}

// startLossyPBX starts a lossyPBX on host; answerSlow makes it answer the
// lost call with 200 after its late 180 instead of ringing on.
func startLossyPBX(t *testing.T, host string, answerSlow bool) *lossyPBX {
	t.Helper()
	c, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	p := &lossyPBX{conn: c, inv: map[string]string{}, done: make(chan struct{})}
	var wg sync.WaitGroup
	go func() {
		defer close(p.done)
		buf := make([]byte, 65535)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			msg := string(buf[:n])
			if strings.HasPrefix(msg, "SIP/2.0") {
				continue
			}
			method, _, _ := strings.Cut(msg, " ")
			cid := header(msg, "Call-ID")
			p.mu.Lock()
			p.seen = append(p.seen, method+" "+cid)
			first := false
			if method == "INVITE" && p.slow == "" {
				p.slow, first = cid, true
			}
			slow := cid == p.slow
			inv, again := p.inv[cid]
			if method == "INVITE" && !again {
				p.inv[cid] = msg
			}
			p.mu.Unlock()
			send := func(m string) { _, _ = c.WriteTo([]byte(m), from) }
			contact := "sip:2000@" + c.LocalAddr().String()
			switch method {
			case "OPTIONS", "BYE":
				send(response(msg, 200, "OK", "pbx"+randHex(4), "", ""))
			case "INVITE":
				switch {
				case first:
					// Lost on the way: nothing.
					p.mu.Lock()
					delete(p.inv, cid)
					p.mu.Unlock()
				case slow && !again:
					// The retransmission, which this slow PBX answers late.
					wg.Add(1)
					go func() {
						defer wg.Done()
						time.Sleep(300 * time.Millisecond)
						send(response(msg, 100, "Trying", "", "", ""))
						send(response(msg, 180, "Ringing", "slow1", contact, ""))
						if answerSlow {
							send(response(msg, 200, "OK", "slow1", contact, pbxSDP))
						}
					}()
				case !slow && !again:
					send(response(msg, 100, "Trying", "", "", ""))
					send(response(msg, 180, "Ringing", "fast1", contact, ""))
					send(response(msg, 200, "OK", "fast1", contact, pbxSDP))
				}
			case "CANCEL":
				send(response(msg, 200, "OK", "slow1", "", ""))
				if again {
					send(response(inv, 487, "Request Terminated", "slow1", "", ""))
				}
			}
		}
	}()
	t.Cleanup(func() { c.Close(); <-p.done; wg.Wait() })
	return p
}

func (p *lossyPBX) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

// count returns how many requests of method the PBX got for Call-ID cid
// ("" for any call).
func (p *lossyPBX) count(method, cid string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, s := range p.seen {
		m, c, _ := strings.Cut(s, " ")
		if m == method && (cid == "" || c == cid) {
			n++
		}
	}
	return n
}

// TestFailoverLostInvite: dnsmasq publishes a trunk's primary (priority
// 10, a PBX that loses the first INVITE and is slow to answer its
// retransmission) and secondary (priority 20, SIPp). The first call fails
// over to the secondary; the primary's late 100/180 gets a CANCEL (RFC
// 3261 §9.1, no ghost ringing), the primary is not marked down for one
// loss (its probe answers), and the next call goes to it again.
func TestFailoverLostInvite(t *testing.T) {
	requireTool(t, "sipp")
	lookTool(t, "dnsmasq")
	primary := startLossyPBX(t, "127.0.0.2", false)
	port := freeUDPPort(t, "127.0.0.3")
	d := startFailoverDnsmasq(t,
		fmt.Sprintf("--srv-host=_sip._udp.pbx.example.test,primary.pbx.example.test,%d,10,0", primary.port()),
		fmt.Sprintf("--srv-host=_sip._udp.pbx.example.test,secondary.pbx.example.test,%d,20,0", port),
		"--host-record=primary.pbx.example.test,127.0.0.2",
		"--host-record=secondary.pbx.example.test,127.0.0.3",
	)
	secondary := newFailoverUAS(t, "127.0.0.3", port)
	secondary.start()
	g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
security: {trusted_callers: [127.0.0.0/8], exempt_sources: [127.0.0.0/8]}
dns: {servers: [%s], ipv6: false}
trunks:
  - name: pbx
    target: sip:pbx.example.test;transport=udp
    match: ["2000"]
    failover_timeout: 500ms
    probe: {interval: 2s, timeout: 400ms, mode: down}
`, d))
	primaryAddr := fmt.Sprintf("127.0.0.2:%d", primary.port())
	waitTrunkState(t, g, primaryAddr, "up|unknown", 5*time.Second)

	// The first call: the primary lost its INVITE; the call is taken by
	// the secondary (or by the primary, had its retransmission won).
	out, err, failed := startUAC(t, g.UDP, 1, 10)()
	if err != nil || failed != 0 {
		t.Fatalf("sipp uac: %v, %d failed\n%s\ngateway:\n%s", err, failed, tail(out, 3000), tail(g.log.String(), 3000))
	}
	primary.mu.Lock()
	slow := primary.slow
	primary.mu.Unlock()
	if slow == "" {
		t.Fatal("the primary got no INVITE")
	}
	if settledInvites(secondary)[0] == 1 {
		// Failed over: the primary's branch, answered late, is CANCELled.
		deadline := time.Now().Add(5 * time.Second)
		for primary.count("CANCEL", slow) == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if primary.count("CANCEL", slow) == 0 {
			t.Errorf("the primary's abandoned branch was not CANCELled after its 180\ngateway:\n%s", tail(g.log.String(), 3000))
		}
	}
	// One lost INVITE is not death: the primary stays up, and a probe
	// round later still is.
	if st := trunkStates(g, "pbx")[primaryAddr]; st == "down" {
		t.Fatalf("the primary was marked down after one lost INVITE: %v", trunkStates(g, "pbx"))
	}
	time.Sleep(2500 * time.Millisecond)
	if st := trunkStates(g, "pbx")[primaryAddr]; st == "down" {
		t.Fatalf("the primary is down: %v", trunkStates(g, "pbx"))
	}

	// The next call goes to the primary again.
	s0 := settledInvites(secondary)[0]
	out, err, failed = startUAC(t, g.UDP, 1, 10)()
	if err != nil || failed != 0 {
		t.Fatalf("second call: sipp uac: %v, %d failed\n%s\ngateway:\n%s", err, failed, tail(out, 3000), tail(g.log.String(), 3000))
	}
	if s := settledInvites(secondary)[0] - s0; s != 0 {
		t.Errorf("the second call went to the secondary, not the primary")
	}
	if n := primary.count("INVITE", ""); n < 3 {
		t.Errorf("the primary got %d INVITEs, want the lost one, its retransmission and the second call's", n)
	}
}

// TestLostInviteOnlyServer: a trunk with one server that loses the first
// INVITE and answers its retransmission late (after failover_timeout):
// with nothing to fail over to, the gateway keeps the transaction (RFC
// 3261 §17.1.1.2: Timer A retransmits, Timer B bounds it) and the call
// goes through, instead of failing with 503 after failover_timeout.
func TestLostInviteOnlyServer(t *testing.T) {
	requireTool(t, "sipp")
	pbx := startLossyPBX(t, "127.0.0.2", true)
	g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
security: {trusted_callers: [127.0.0.0/8], exempt_sources: [127.0.0.0/8]}
trunks:
  - {name: pbx, target: "sip:127.0.0.2:%d", failover_timeout: 500ms, probe: {interval: 0s}, match: ["2000"]}
`, pbx.port()))
	out, err, failed := startUAC(t, g.UDP, 1, 10)()
	if err != nil || failed != 0 {
		t.Fatalf("sipp uac: %v, %d failed\n%s\ngateway:\n%s", err, failed, tail(out, 3000), tail(g.log.String(), 3000))
	}
	if n := pbx.count("INVITE", ""); n < 2 {
		t.Errorf("the PBX got %d INVITEs, want the lost one and its retransmission", n)
	}
	if n := pbx.count("BYE", ""); n != 1 {
		t.Errorf("the PBX got %d BYEs, want 1 (the call, ended by the caller)", n)
	}
}
