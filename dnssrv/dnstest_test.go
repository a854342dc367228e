package dnssrv

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// zone is a real DNS server on 127.0.0.1 (UDP and TCP on one port) that
// answers from records given in zone-file syntax, like a recursive
// resolver would: CNAMEs are chased within the zone, negative answers
// carry an SOA, and names can be made to misbehave.
type zone struct {
	Addr string

	mu       sync.Mutex
	rrs      []dns.RR
	soaMin   uint32
	noChase  bool                // return a CNAME without the records it points at
	servfail map[string]bool     // owner names answered SERVFAIL
	truncate map[string]bool     // owner names answered TC over UDP
	silent   map[string]bool     // owner names never answered
	byType   map[string]int      // "name TYPE" -> RCODE to answer, or -1: never answered
	queries  map[string]int      // "udp NAME TYPE" -> count
	hook     func(*dns.Msg) bool // extra: may rewrite the answer; true = send it as is
}

func newZone(t testing.TB, records ...string) *zone {
	t.Helper()
	z := &zone{
		soaMin: 60, servfail: map[string]bool{}, truncate: map[string]bool{},
		silent: map[string]bool{}, queries: map[string]int{}, byType: map[string]int{},
	}
	z.add(t, records...)
	var pc net.PacketConn
	var ln net.Listener
	for range 20 {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
	}
	if ln == nil {
		t.Fatal("no port free for UDP and TCP")
	}
	z.Addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(z.serve("udp"))}
	tcp := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(z.serve("tcp"))}
	var started sync.WaitGroup
	started.Add(2)
	udp.NotifyStartedFunc = started.Done
	tcp.NotifyStartedFunc = started.Done
	go func() { _ = udp.ActivateAndServe() }()
	go func() { _ = tcp.ActivateAndServe() }()
	started.Wait()
	t.Cleanup(func() { _ = udp.Shutdown(); _ = tcp.Shutdown() })
	return z
}

// add parses and adds records.
func (z *zone) add(t testing.TB, records ...string) {
	t.Helper()
	z.mu.Lock()
	defer z.mu.Unlock()
	for _, s := range records {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("record %q: %v", s, err)
		}
		z.rrs = append(z.rrs, rr)
	}
}

// set replaces all records.
func (z *zone) set(t testing.TB, records ...string) {
	z.mu.Lock()
	z.rrs = nil
	z.mu.Unlock()
	z.add(t, records...)
}

// count returns how many queries for name and type arrived over proto.
func (z *zone) count(proto, name string, qtype uint16) int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.queries[proto+" "+strings.ToLower(dns.Fqdn(name))+" "+dns.TypeToString[qtype]]
}

func (z *zone) total() int {
	z.mu.Lock()
	defer z.mu.Unlock()
	n := 0
	for _, c := range z.queries {
		n += c
	}
	return n
}

func (z *zone) serve(proto string) func(dns.ResponseWriter, *dns.Msg) {
	return func(w dns.ResponseWriter, q *dns.Msg) {
		if len(q.Question) != 1 {
			return
		}
		qq := q.Question[0]
		name := strings.ToLower(qq.Name)
		z.mu.Lock()
		z.queries[proto+" "+name+" "+dns.TypeToString[qq.Qtype]]++
		r := new(dns.Msg)
		r.SetReply(q)
		r.RecursionAvailable = true
		silent, servfail, trunc := z.silent[name], z.servfail[name], z.truncate[name]
		rcode, odd := z.byType[name+" "+dns.TypeToString[qq.Qtype]]
		silent = silent || odd && rcode < 0
		hook := z.hook
		if !silent && !servfail {
			z.answer(r, name, qq.Qtype)
		}
		z.mu.Unlock()
		switch {
		case silent:
			return
		case servfail:
			r = new(dns.Msg)
			r.SetRcode(q, dns.RcodeServerFailure)
		case odd:
			r = new(dns.Msg)
			r.SetRcode(q, rcode)
		case trunc && proto == "udp":
			r.Answer, r.Ns, r.Extra = nil, nil, nil
			r.Truncated = true
		}
		if hook != nil && hook(r) {
			_ = w.WriteMsg(r)
			return
		}
		if opt := q.IsEdns0(); opt != nil && proto == "udp" {
			r.Truncate(int(opt.UDPSize()))
		} else if proto == "udp" {
			r.Truncate(dns.MinMsgSize)
		}
		_ = w.WriteMsg(r)
	}
}

// answer fills r like a recursive resolver: matching records, CNAMEs
// chased (up to 12 hops) unless noChase, NXDOMAIN or NODATA with an SOA.
func (z *zone) answer(r *dns.Msg, name string, qtype uint16) {
	for hop := 0; hop < 12; hop++ {
		var found, cname []dns.RR
		exists := false
		for _, rr := range z.rrs {
			h := rr.Header()
			if !strings.EqualFold(h.Name, name) {
				continue
			}
			exists = true
			switch h.Rrtype {
			case qtype:
				found = append(found, dns.Copy(rr))
			case dns.TypeCNAME:
				cname = append(cname, dns.Copy(rr))
			}
		}
		if len(found) > 0 {
			r.Answer = append(r.Answer, found...)
			return
		}
		if len(cname) > 0 {
			r.Answer = append(r.Answer, cname[0])
			if z.noChase {
				return
			}
			name = strings.ToLower(cname[0].(*dns.CNAME).Target)
			continue
		}
		if !exists {
			r.Rcode = dns.RcodeNameError
		}
		soa, _ := dns.NewRR("test. 3600 IN SOA ns.test. host.test. 1 60 60 60 60")
		soa.(*dns.SOA).Minttl = z.soaMin
		r.Ns = append(r.Ns, soa)
		return
	}
}

// rawServer answers every UDP query with what reply returns (nil: no
// answer): for malformed and hostile answers miekg/dns would not send.
func rawServer(t testing.TB, reply func(query []byte) []byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if out := reply(append([]byte(nil), buf[:n]...)); out != nil {
				_, _ = pc.WriteTo(out, from)
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return pc.LocalAddr().String()
}

// do changes the zone's behaviour under its lock.
func (z *zone) do(f func(z *zone)) {
	z.mu.Lock()
	defer z.mu.Unlock()
	f(z)
}
