package dnssrv

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// reply builds an answer to query with records, then lets mangle change
// the wire bytes.
func reply(query []byte, mangle func(r *dns.Msg) []byte) []byte {
	q := new(dns.Msg)
	if q.Unpack(query) != nil {
		return nil
	}
	r := new(dns.Msg)
	r.SetReply(q)
	return mangle(r)
}

func pack(r *dns.Msg) []byte {
	b, _ := r.Pack()
	return b
}

// TestMalformedAnswers: hostile answers end in a clear error, fast.
func TestMalformedAnswers(t *testing.T) {
	a := func(name, ip string) dns.RR { rr, _ := dns.NewRR(name + " 60 IN A " + ip); return rr }
	tests := []struct {
		name    string
		mangle  func(r *dns.Msg) []byte
		wantErr error
	}{
		{"garbage", func(r *dns.Msg) []byte {
			b := pack(r)
			return append(b[:12], 0xff, 0xff, 0xff)
		}, ErrMalformed},
		{"counts lie", func(r *dns.Msg) []byte {
			b := pack(r)
			binary.BigEndian.PutUint16(b[6:], 50) // ANCOUNT 50, no records
			return b
		}, ErrNoData}, // miekg/dns reads a short message as what it holds
		{"wrong question", func(r *dns.Msg) []byte {
			r.Question[0].Name = "evil.test."
			r.Answer = []dns.RR{a("evil.test.", "203.0.113.1")}
			return pack(r)
		}, ErrMalformed},
		{"wrong type", func(r *dns.Msg) []byte {
			r.Question[0].Qtype = dns.TypeMX
			return pack(r)
		}, ErrMalformed},
		{"not a response", func(r *dns.Msg) []byte {
			r.Response = false
			return pack(r)
		}, ErrMalformed},
		{"answer for another name only", func(r *dns.Msg) []byte {
			r.Answer = []dns.RR{a("other.test.", "203.0.113.1")}
			return pack(r)
		}, ErrNoData},
		{"larger than asked", func(r *dns.Msg) []byte {
			for i := range 300 {
				r.Answer = append(r.Answer, a(r.Question[0].Name, "192.0.2."+string(rune('0'+i%10))))
			}
			return pack(r) // ~5 KB: more than the 1232 bytes advertised
		}, ErrMalformed},
		{"formerr", func(r *dns.Msg) []byte {
			r.Rcode = dns.RcodeFormatError
			return pack(r)
		}, ErrServFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := rawServer(t, func(q []byte) []byte { return reply(q, tt.mangle) })
			// Fast: on the answer, not on the timeout. A timeout of 150 ms
			// was shorter than building and parsing the 5 KB answer under
			// -race at load 25 (CI-like): "query timed out".
			const timeout = 10 * time.Second
			r := newTestResolver(t, Options{Timeout: timeout, IPv4Only: true}, addr)
			start := time.Now()
			_, err := r.Resolve(context.Background(), "sip:host.test:5060")
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if d := time.Since(start); d >= timeout {
				t.Errorf("took %v: waited for the timeout, not failed on the answer", d)
			}
		})
	}
}

// TestOversizeAnswerIsMalformed: a datagram larger than the buffer we
// advertised is cut at the buffer and cannot be parsed.
func TestOversizeAnswerIsMalformed(t *testing.T) {
	var big []dns.RR
	for range 200 {
		rr, _ := dns.NewRR("host.test. 60 IN A 192.0.2.1")
		big = append(big, rr)
	}
	wire := func(q []byte) []byte {
		return reply(q, func(r *dns.Msg) []byte { r.Answer = big; return pack(r) })
	}
	set := parseAnswer(wire(query("host.test.", dns.TypeA, 7))[:1232], 7, "host.test.", dns.TypeA, time.Minute)
	if !errors.Is(set.err, ErrMalformed) {
		t.Errorf("cut datagram: %v", set.err)
	}
	set = parseAnswer(wire(query("host.test.", dns.TypeA, 7)), 7, "host.test.", dns.TypeA, time.Minute)
	if set.err != nil || len(set.rrs) != maxRecords {
		t.Errorf("whole datagram: %d records, %v", len(set.rrs), set.err)
	}
}

func query(name string, qtype uint16, id uint16) []byte {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Id = id
	return pack(m)
}

// FuzzAnswer feeds arbitrary bytes to the answer handling as the reply to
// SRV, NAPTR, A and AAAA questions: it must never panic.
func FuzzAnswer(f *testing.F) {
	for _, qt := range []uint16{dns.TypeSRV, dns.TypeNAPTR, dns.TypeA} {
		z := new(dns.Msg)
		z.SetQuestion("_sip._udp.pbx.test.", qt)
		z.Id = 1
		r := new(dns.Msg)
		r.SetReply(z)
		for _, s := range pbx {
			rr, _ := dns.NewRR(s)
			r.Answer = append(r.Answer, rr)
		}
		f.Add(pack(r))
	}
	// The same records owned by the name asked for, so the seeds reach
	// the ordering: SRV priorities out of order, weights, a "." target,
	// NAPTR orders.
	for _, qt := range []uint16{dns.TypeSRV, dns.TypeNAPTR} {
		z := new(dns.Msg)
		z.SetQuestion("_sip._udp.pbx.test.", qt)
		z.Id = 1
		r := new(dns.Msg)
		r.SetReply(z)
		for _, s := range pbx {
			if rr, err := dns.NewRR(s); err == nil {
				rr.Header().Name = "_sip._udp.pbx.test."
				r.Answer = append(r.Answer, rr)
			}
		}
		w, _ := dns.NewRR("_sip._udp.pbx.test. 60 IN SRV 10 30 5060 c.srv.test.")
		r.Answer = append(r.Answer, w)
		f.Add(pack(r))
	}
	f.Add([]byte{0, 1, 0x81, 0x80, 0, 1, 0, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, qt := range []uint16{dns.TypeSRV, dns.TypeNAPTR, dns.TypeA, dns.TypeAAAA} {
			set := parseAnswer(b, 1, "_sip._udp.pbx.test.", qt, time.Minute)
			if set.err == nil && len(set.rrs) == 0 && set.next == "" {
				t.Fatal("no error and no records")
			}
			if len(set.rrs) > maxRecords {
				t.Fatalf("%d records", len(set.rrs))
			}
			// The records are the ones asked for, and usable.
			var srvs []*dns.SRV
			var naptrs []*dns.NAPTR
			live := 0
			for _, rr := range set.rrs {
				h := rr.Header()
				if h.Rrtype != qt || h.Class != dns.ClassINET || !usable(rr) || set.ttl > h.Ttl {
					t.Fatalf("asked for type %d, kept %v (set TTL %d)", qt, rr, set.ttl)
				}
				switch v := rr.(type) {
				case *dns.SRV:
					srvs = append(srvs, v)
					if v.Target != "." {
						live++
					}
				case *dns.NAPTR:
					naptrs = append(naptrs, v)
				}
			}
			// The resolver's own use of the records: every SRV target but
			// "." once, by priority (RFC 2782); NAPTR choices name an SRV.
			order := orderSRV(srvs, randN)
			seen := map[*dns.SRV]bool{}
			for i, r := range order {
				if r.Target == "." || seen[r] || i > 0 && r.Priority < order[i-1].Priority {
					t.Fatalf("SRV order %v from %v", order, srvs)
				}
				seen[r] = true
			}
			if len(order) != live {
				t.Fatalf("SRV order %v from %v", order, srvs)
			}
			for _, c := range orderNAPTR(naptrs, false, func(Transport) bool { return true }) {
				if c.srv == "" || c.srv == "." {
					t.Fatalf("NAPTR choice %+v from %v", c, naptrs)
				}
			}
		}
	})
}
