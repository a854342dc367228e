package dnssrv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// clock is an injected time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestResolver(t testing.TB, o Options, servers ...string) *Resolver {
	t.Helper()
	o.Servers = servers
	if o.Timeout == 0 {
		o.Timeout = 300 * time.Millisecond
	}
	if o.Attempts == 0 {
		o.Attempts = 1
	}
	r, err := NewResolver(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// keys formats targets as "transport:addr source prio/weight".
func keys(ts []Target) string {
	var b strings.Builder
	for i, t := range ts {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s %d/%d", t.Key(), t.Source, t.Priority, t.Weight)
	}
	return b.String()
}

// pbx is a zone with every kind of record the table tests use.
var pbx = []string{
	// NAPTR: order 10 beats order 20 whatever the preference (RFC 3403).
	"naptr.test. 60 IN NAPTR 10 60 \"s\" \"SIP+D2U\" \"\" _sip._udp.naptr.test.",
	"naptr.test. 60 IN NAPTR 10 50 \"s\" \"SIP+D2T\" \"\" _sip._tcp.naptr.test.",
	"naptr.test. 60 IN NAPTR 10 70 \"s\" \"SIPS+D2T\" \"\" _sips._tcp.naptr.test.",
	"naptr.test. 60 IN NAPTR 20 10 \"s\" \"SIP+D2U\" \"\" _sip._udp.other.test.",
	"naptr.test. 60 IN NAPTR 5 10 \"s\" \"SIP+D2X\" \"\" _sip._sctp.naptr.test.",
	"naptr.test. 60 IN NAPTR 5 10 \"a\" \"SIP+D2U\" \"\" a.naptr.test.",
	"_sip._udp.naptr.test. 60 IN SRV 10 0 5060 a.naptr.test.",
	"_sip._tcp.naptr.test. 60 IN SRV 10 0 5070 a.naptr.test.",
	"_sips._tcp.naptr.test. 60 IN SRV 10 0 5061 a.naptr.test.",
	"a.naptr.test. 60 IN A 192.0.2.1",
	// SRV only: each transport in preference order, priority order.
	"_sip._udp.srv.test. 60 IN SRV 20 0 5060 b.srv.test.",
	"_sip._udp.srv.test. 60 IN SRV 10 0 5060 a.srv.test.",
	"_sip._tcp.srv.test. 60 IN SRV 10 0 5060 a.srv.test.",
	"_sips._tcp.srv.test. 60 IN SRV 10 0 5061 a.srv.test.",
	"srv.test. 60 IN A 192.0.2.99",
	"a.srv.test. 60 IN A 192.0.2.10",
	"a.srv.test. 60 IN A 192.0.2.11",
	"a.srv.test. 60 IN AAAA 2001:db8::10",
	"b.srv.test. 60 IN A 192.0.2.20",
	// A only.
	"plain.test. 60 IN A 192.0.2.30",
	"plain.test. 60 IN AAAA 2001:db8::30",
	// "." target: no service (RFC 2782); the A record must not be used.
	"_sip._udp.none.test. 60 IN SRV 0 0 0 .",
	"_sip._tcp.none.test. 60 IN SRV 0 0 0 .",
	"_sips._tcp.none.test. 60 IN SRV 0 0 0 .",
	"none.test. 60 IN A 192.0.2.40",
	// CNAME: the SRV target is an alias.
	"_sip._udp.alias.test. 60 IN SRV 10 0 5080 www.alias.test.",
	"www.alias.test. 60 IN CNAME real.alias.test.",
	"real.alias.test. 60 IN A 192.0.2.50",
	// CNAME loop.
	"loop.test. 60 IN CNAME loop2.test.",
	"loop2.test. 60 IN CNAME loop.test.",
	// SRV pointing at itself.
	"_sip._udp.self.test. 60 IN SRV 10 0 5060 _sip._udp.self.test.",
	// A record of 0.0.0.0 is unusable.
	"zero.test. 60 IN A 0.0.0.0",
}

func TestResolve(t *testing.T) {
	z := newZone(t, pbx...)
	tests := []struct {
		uri     string
		want    string
		wantErr error
	}{
		// §4.1/4.2: IP literals skip DNS.
		{uri: "sip:192.0.2.7", want: "udp:192.0.2.7:5060 ip 0/0"},
		{uri: "sips:[2001:db8::7]", want: "tls:[2001:db8::7]:5061 ip 0/0"},
		{uri: "sip:192.0.2.7:5080;transport=tcp", want: "tcp:192.0.2.7:5080 ip 0/0"},
		{uri: "192.0.2.7:5090", want: "udp:192.0.2.7:5090 ip 0/0"},
		// NAPTR: lowest order, then preference; unsupported services,
		// non-"s" flags and SIPS for a sip: URI still count (sip: may use
		// SIPS+D2T, RFC 3263 §4.1).
		{uri: "sip:naptr.test", want: "tcp:192.0.2.1:5070 naptr 10/0, udp:192.0.2.1:5060 naptr 10/0, tls:192.0.2.1:5061 naptr 10/0"},
		{uri: "sips:naptr.test", want: "tls:192.0.2.1:5061 naptr 10/0"},
		// No NAPTR: SRV per transport (udp, tcp, tls), priority order,
		// every address of a target (A then AAAA).
		{uri: "sip:srv.test", want: "udp:192.0.2.10:5060 srv 10/0, udp:192.0.2.11:5060 srv 10/0, udp:[2001:db8::10]:5060 srv 10/0, udp:192.0.2.20:5060 srv 20/0, " +
			"tcp:192.0.2.10:5060 srv 10/0, tcp:192.0.2.11:5060 srv 10/0, tcp:[2001:db8::10]:5060 srv 10/0, " +
			"tls:192.0.2.10:5061 srv 10/0, tls:192.0.2.11:5061 srv 10/0, tls:[2001:db8::10]:5061 srv 10/0"},
		{uri: "sips:srv.test", want: "tls:192.0.2.10:5061 srv 10/0, tls:192.0.2.11:5061 srv 10/0, tls:[2001:db8::10]:5061 srv 10/0"},
		// Transport given: SRV of that transport only.
		{uri: "sip:srv.test;transport=tcp", want: "tcp:192.0.2.10:5060 srv 10/0, tcp:192.0.2.11:5060 srv 10/0, tcp:[2001:db8::10]:5060 srv 10/0"},
		// Port given: A/AAAA only, even though SRV exists.
		{uri: "sip:srv.test:5099", want: "udp:192.0.2.99:5099 a 0/0"},
		// No NAPTR, no SRV: A/AAAA, UDP 5060 (sip) or TLS 5061 (sips).
		{uri: "sip:plain.test", want: "udp:192.0.2.30:5060 a 0/0, udp:[2001:db8::30]:5060 a 0/0"},
		{uri: "sips:plain.test", want: "tls:192.0.2.30:5061 a 0/0, tls:[2001:db8::30]:5061 a 0/0"},
		{uri: "sip:plain.test;transport=tcp", want: "tcp:192.0.2.30:5060 a 0/0, tcp:[2001:db8::30]:5060 a 0/0"},
		// "." means no service: no A fallback.
		{uri: "sip:none.test", wantErr: ErrNoService},
		{uri: "sip:none.test;transport=tcp", wantErr: ErrNoService},
		{uri: "sip:alias.test", want: "udp:192.0.2.50:5080 srv 10/0"},
		{uri: "sip:missing.test", wantErr: ErrNXDomain},
		{uri: "sip:loop.test", wantErr: ErrCNAMELoop},
		{uri: "sip:self.test", wantErr: ErrNoData},
		{uri: "sip:zero.test", wantErr: ErrNoData},
		{uri: "http://x", wantErr: ErrBadTarget},
	}
	r := newTestResolver(t, Options{}, z.Addr)
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			ts, err := r.Resolve(context.Background(), tt.uri)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v (targets %s)", err, tt.wantErr, keys(ts))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := keys(ts); got != tt.want {
				t.Errorf("targets\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestResolveIPv4Only(t *testing.T) {
	z := newZone(t, pbx...)
	r := newTestResolver(t, Options{IPv4Only: true}, z.Addr)
	ts, err := r.Resolve(context.Background(), "sip:plain.test")
	if err != nil || keys(ts) != "udp:192.0.2.30:5060 a 0/0" {
		t.Fatalf("got %s, %v", keys(ts), err)
	}
	if n := z.count("udp", "plain.test", dns.TypeAAAA); n != 0 {
		t.Errorf("AAAA asked %d times", n)
	}
}

func TestResolveTransportsOption(t *testing.T) {
	z := newZone(t, pbx...)
	r := newTestResolver(t, Options{Transports: []Transport{TCP, UDP}}, z.Addr)
	ts, err := r.Resolve(context.Background(), "sip:srv.test")
	if err != nil {
		t.Fatal(err)
	}
	if ts[0].Transport != TCP || ts[len(ts)-1].Transport != UDP {
		t.Errorf("order %s", keys(ts))
	}
	ts, err = r.Resolve(context.Background(), "sip:naptr.test")
	if err != nil || keys(ts) != "tcp:192.0.2.1:5070 naptr 10/0, udp:192.0.2.1:5060 naptr 10/0" {
		t.Errorf("NAPTR without tls: %s, %v", keys(ts), err)
	}
}

// TestCNAMEAcrossQueries: the server returns the CNAME alone; the
// resolver asks for the target itself.
func TestCNAMEAcrossQueries(t *testing.T) {
	z := newZone(t, pbx...)
	z.do(func(z *zone) { z.noChase = true })
	r := newTestResolver(t, Options{}, z.Addr)
	ts, err := r.Resolve(context.Background(), "sip:alias.test")
	if err != nil || keys(ts) != "udp:192.0.2.50:5080 srv 10/0" {
		t.Fatalf("got %s, %v", keys(ts), err)
	}
	if z.count("udp", "real.alias.test", dns.TypeA) != 1 {
		t.Errorf("CNAME target not asked for")
	}
	if _, err := r.Resolve(context.Background(), "sip:loop.test"); !errors.Is(err, ErrCNAMELoop) {
		t.Errorf("loop across queries: %v", err)
	}
}

func TestTruncatedFallsBackToTCP(t *testing.T) {
	z := newZone(t, pbx...)
	z.do(func(z *zone) { z.truncate["_sip._udp.srv.test."] = true })
	r := newTestResolver(t, Options{}, z.Addr)
	ts, err := r.Resolve(context.Background(), "sip:srv.test;transport=udp")
	if err != nil || len(ts) != 4 {
		t.Fatalf("got %s, %v", keys(ts), err)
	}
	if z.count("tcp", "_sip._udp.srv.test", dns.TypeSRV) != 1 {
		t.Errorf("no TCP query after truncation")
	}
}

// TestLargeAnswerOverTCP: 40 SRV records do not fit 512 bytes: without
// EDNS0 the server truncates, TCP brings them all (capped at maxRecords).
func TestLargeAnswerOverTCP(t *testing.T) {
	var recs []string
	for i := range 40 {
		recs = append(recs, fmt.Sprintf("_sip._udp.big.test. 60 IN SRV %d 0 5060 host-with-a-long-name-%02d.big.test.", i, i),
			fmt.Sprintf("host-with-a-long-name-%02d.big.test. 60 IN A 192.0.2.%d", i, i+1))
	}
	z := newZone(t, recs...)
	r := newTestResolver(t, Options{EDNSBuffer: -1, IPv4Only: true}, z.Addr)
	ts, err := r.Resolve(context.Background(), "sip:big.test;transport=udp")
	if err != nil || len(ts) != maxRecords {
		t.Fatalf("got %d targets, %v", len(ts), err)
	}
	if ts[0].Addr.String() != "192.0.2.1:5060" {
		t.Errorf("first %s", ts[0])
	}
}

func TestServFailAndNextServer(t *testing.T) {
	bad := newZone(t, pbx...)
	bad.do(func(z *zone) { z.servfail["plain.test."] = true })
	good := newZone(t, pbx...)
	r := newTestResolver(t, Options{}, bad.Addr)
	if _, err := r.Resolve(context.Background(), "sip:plain.test:5060"); !errors.Is(err, ErrServFail) {
		t.Fatalf("err = %v, want ErrServFail", err)
	}
	var qe *QueryError
	if _, err := r.Resolve(context.Background(), "sip:plain.test:5060"); !errors.As(err, &qe) || qe.Type != "A" {
		t.Errorf("err %v is not a QueryError for A", err)
	}
	r2 := newTestResolver(t, Options{}, bad.Addr, good.Addr)
	ts, err := r2.Resolve(context.Background(), "sip:plain.test:5060")
	if err != nil || len(ts) != 2 {
		t.Fatalf("second server: %s, %v", keys(ts), err)
	}
}

func TestTimeout(t *testing.T) {
	z := newZone(t, pbx...)
	z.do(func(z *zone) { z.silent["plain.test."] = true })
	r := newTestResolver(t, Options{Timeout: 100 * time.Millisecond, Attempts: 2}, z.Addr)
	start := time.Now()
	_, err := r.Resolve(context.Background(), "sip:plain.test:5060")
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
	// The caller's context bounds the wait too.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	r.Flush()
	if _, err := r.Resolve(ctx, "sip:plain.test:5060"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ctx err = %v", err)
	}
}

// TestCacheTTL: answers are kept for their TTL, served stale after it
// while one refresh runs, and replaced by the refresh.
func TestCacheTTL(t *testing.T) {
	z := newZone(t, "plain.test. 60 IN A 192.0.2.30")
	c := newClock()
	r := newTestResolver(t, Options{Now: c.Now, IPv4Only: true}, z.Addr)
	ctx := context.Background()
	resolve := func() string {
		t.Helper()
		ts, err := r.Resolve(ctx, "sip:plain.test:5060")
		if err != nil {
			t.Fatal(err)
		}
		return keys(ts)
	}
	resolve()
	c.Add(59 * time.Second)
	resolve()
	if n := z.count("udp", "plain.test", dns.TypeA); n != 1 {
		t.Fatalf("queries within TTL = %d, want 1", n)
	}
	z.set(t, "plain.test. 60 IN A 192.0.2.31")
	c.Add(2 * time.Second)
	if got := resolve(); got != "udp:192.0.2.30:5060 a 0/0" {
		t.Errorf("stale answer = %s", got)
	}
	waitFor(t, func() bool { return z.count("udp", "plain.test", dns.TypeA) == 2 })
	waitFor(t, func() bool { return resolve() == "udp:192.0.2.31:5060 a 0/0" })
	if n := z.count("udp", "plain.test", dns.TypeA); n != 2 {
		t.Errorf("queries = %d, want 2 (one refresh)", n)
	}
	// Past the stale window the lookup waits for a fresh answer.
	c.Add(48 * time.Hour)
	z.set(t, "plain.test. 60 IN A 192.0.2.32")
	if got := resolve(); got != "udp:192.0.2.32:5060 a 0/0" {
		t.Errorf("after max stale = %s", got)
	}
}

// TestServeStaleWhileDNSDown: a refresh that fails keeps the old answer.
func TestServeStaleWhileDNSDown(t *testing.T) {
	z := newZone(t, "plain.test. 60 IN A 192.0.2.30")
	c := newClock()
	r := newTestResolver(t, Options{Now: c.Now, IPv4Only: true}, z.Addr)
	ctx := context.Background()
	if _, err := r.Resolve(ctx, "sip:plain.test:5060"); err != nil {
		t.Fatal(err)
	}
	z.do(func(z *zone) { z.servfail["plain.test."] = true })
	c.Add(time.Hour)
	for range 3 {
		ts, err := r.Resolve(ctx, "sip:plain.test:5060")
		if err != nil || len(ts) != 1 {
			t.Fatalf("stale: %s, %v", keys(ts), err)
		}
	}
	waitFor(t, func() bool { return r.cache.lastErr(cacheKey{"plain.test.", dns.TypeA}) != nil })
	// One refresh, then no more until failTTL has passed.
	if n := z.count("udp", "plain.test", dns.TypeA); n != 2 {
		t.Errorf("queries = %d, want 2", n)
	}
}

func TestNegativeCaching(t *testing.T) {
	z := newZone(t, pbx...)
	z.do(func(z *zone) { z.soaMin = 10 })
	c := newClock()
	r := newTestResolver(t, Options{Now: c.Now, MaxStale: -1}, z.Addr)
	ctx := context.Background()
	for range 3 {
		if _, err := r.Resolve(ctx, "sip:missing.test:5060"); !errors.Is(err, ErrNXDomain) {
			t.Fatal(err)
		}
	}
	if n := z.count("udp", "missing.test", dns.TypeA); n != 1 {
		t.Errorf("NXDOMAIN asked %d times within its TTL", n)
	}
	c.Add(11 * time.Second) // SOA MINIMUM 10 (RFC 2308 §5)
	_, _ = r.Resolve(ctx, "sip:missing.test:5060")
	if n := z.count("udp", "missing.test", dns.TypeA); n != 2 {
		t.Errorf("NXDOMAIN asked %d times after its TTL, want 2", n)
	}
	// NODATA (AAAA of an IPv4-only name) is cached as well.
	for range 3 {
		_, _ = r.Resolve(ctx, "sip:zero.test:5060")
	}
	if n := z.count("udp", "zero.test", dns.TypeAAAA); n != 1 {
		t.Errorf("NODATA asked %d times", n)
	}
}

// TestZeroTTL: records with TTL 0 are used, then refreshed in the
// background on each use; never an error, never a stampede.
func TestZeroTTL(t *testing.T) {
	z := newZone(t, "plain.test. 0 IN A 192.0.2.30")
	r := newTestResolver(t, Options{IPv4Only: true}, z.Addr)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ts, err := r.Resolve(context.Background(), "sip:plain.test:5060")
			if err != nil || len(ts) != 1 || ts[0].TTL != 0 {
				t.Errorf("%s, %v", keys(ts), err)
			}
		}()
	}
	wg.Wait()
	if n := z.count("udp", "plain.test", dns.TypeA); n > 50 || n < 1 {
		t.Errorf("queries = %d", n)
	}
}

// TestSingleFlight: concurrent cold lookups share one query.
func TestSingleFlight(t *testing.T) {
	z := newZone(t, "plain.test. 60 IN A 192.0.2.30")
	r := newTestResolver(t, Options{IPv4Only: true}, z.Addr)
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Resolve(context.Background(), "sip:plain.test:5060"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := z.count("udp", "plain.test", dns.TypeA); n != 1 {
		t.Errorf("queries = %d, want 1", n)
	}
}

func TestClosed(t *testing.T) {
	z := newZone(t, pbx...)
	z.do(func(z *zone) { z.silent["plain.test."] = true })
	r := newTestResolver(t, Options{Timeout: 5 * time.Second}, z.Addr)
	done := make(chan error)
	go func() {
		_, err := r.Resolve(context.Background(), "sip:plain.test:5060")
		done <- err
	}()
	waitFor(t, func() bool { return z.total() > 0 })
	_ = r.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("no error after Close")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not end the lookup in flight")
	}
	if _, err := r.Resolve(context.Background(), "sip:other.test:5060"); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 15s (a bound against a hang: a loaded machine may take seconds to start a peer)")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestNAPTRFailureFallsThrough: a server that answers NAPTR with REFUSED
// or SERVFAIL, or never answers it (DNS filters, corporate servers), does
// not stop resolution: SRV, then A/AAAA, as without NAPTR records (RFC 3263
// §4.1), and the failure is logged once per name.
func TestNAPTRFailureFallsThrough(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rcode int
		host  string
		want  string
	}{
		{"refused", dns.RcodeRefused, "srv.test", "udp:192.0.2.10:5060 srv 10/0"},
		{"servfail", dns.RcodeServerFailure, "srv.test", "udp:192.0.2.10:5060 srv 10/0"},
		{"timeout", -1, "srv.test", "udp:192.0.2.10:5060 srv 10/0"},
		{"refused, no SRV", dns.RcodeRefused, "plain.test", "udp:192.0.2.30:5060 a 0/0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := newZone(t, pbx...)
			z.do(func(z *zone) {
				z.byType[tc.host+". NAPTR"] = tc.rcode
				z.byType["naptr.test. NAPTR"] = tc.rcode
			})
			var logs strings.Builder
			var mu sync.Mutex
			log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
				mu.Lock()
				defer mu.Unlock()
				return logs.Write(p)
			}), nil))
			r := newTestResolver(t, Options{Timeout: 100 * time.Millisecond, IPv4Only: true, Transports: []Transport{UDP}, Logger: log}, z.Addr)
			for i := range 3 {
				ts, err := r.Resolve(context.Background(), "sip:"+tc.host)
				if err != nil {
					t.Fatalf("resolve %d: %v", i, err)
				}
				if got := keys(ts[:1]); got != tc.want {
					t.Fatalf("resolve %d: first target %s, want %s (all: %s)", i, got, tc.want, keys(ts))
				}
			}
			// A domain whose NAPTR is fine is unaffected by another's.
			z.do(func(z *zone) { delete(z.byType, "naptr.test. NAPTR") })
			if ts, err := r.Resolve(context.Background(), "sip:naptr.test"); err != nil || ts[0].Source != SourceNAPTR {
				t.Fatalf("naptr.test: %s, %v", keys(ts), err)
			}
			mu.Lock()
			defer mu.Unlock()
			if n := strings.Count(logs.String(), "NAPTR lookup failed"); n != 1 {
				t.Errorf("logged %d times, want once:\n%s", n, logs.String())
			}
		})
	}
}

// writerFunc adapts a function to io.Writer.
type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
