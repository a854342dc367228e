package trunkreg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/miekg/dns"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/lab/pbx"
)

// srvZone serves _sip._udp.pbx.test SRV records: one target per sim, in
// priority order, all on 127.0.0.1.
func srvZone(t *testing.T, sims ...*pbx.Sim) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Authoritative = true
		name := strings.ToLower(q.Question[0].Name)
		switch {
		case q.Question[0].Qtype == dns.TypeSRV && name == "_sip._udp.pbx.test.":
			for i, s := range sims {
				m.Answer = append(m.Answer, &dns.SRV{
					Hdr:      dns.RR_Header{Name: name, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 60},
					Priority: uint16(10 * (i + 1)), Weight: 0, Port: s.Addr().Port(),
					Target: fmt.Sprintf("s%d.pbx.test.", i),
				})
			}
		case q.Question[0].Qtype == dns.TypeA && strings.HasSuffix(name, ".pbx.test."):
			m.Answer = append(m.Answer, &dns.A{
				Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
				A:   net.IPv4(127, 0, 0, 1),
			})
		default:
			m.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})
	srv := &dns.Server{PacketConn: pc, Handler: h}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

func newTrunk(t *testing.T, target string, dnsServer string) *dnssrv.Trunk {
	t.Helper()
	o := dnssrv.Options{Transports: []dnssrv.Transport{dnssrv.UDP}, IPv4Only: true}
	if dnsServer != "" {
		o.Servers = []string{dnsServer}
	} else {
		o.Servers = []string{"127.0.0.1:1"} // unused: IP targets need no DNS
	}
	res, err := dnssrv.NewResolver(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = res.Close() })
	tr, err := dnssrv.NewTrunk(dnssrv.TrunkOptions{Name: "pbx", Target: target, FailoverTimeout: 300 * time.Millisecond, Timeout: 5 * time.Second}, res)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func newClient(t *testing.T) *sipgo.Client {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func contact(string) sip.Uri { return sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: 5999} }

func startSim(t *testing.T, o pbx.Options) *pbx.Sim {
	t.Helper()
	s, err := pbx.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// running runs r until the test ends (or stop is called) and returns stop,
// which waits for Run to return.
func running(t *testing.T, r *Registration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { r.Run(ctx) })
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func reg(s *pbx.Sim) pbx.Registration {
	for _, r := range s.Registrations() {
		return r
	}
	return pbx.Registration{}
}

// TestRegisterRefreshUnregister registers with each digest algorithm,
// sees the registration refreshed before it expires and removed at stop.
func TestRegisterRefreshUnregister(t *testing.T) {
	for _, alg := range []string{"SHA-256", "MD5"} {
		t.Run(alg, func(t *testing.T) {
			sim := startSim(t, pbx.Options{Realm: "pbx.test", Users: map[string]string{"trunk": "s3cret"}, Algorithms: []string{alg}})
			r, err := New(Options{
				Trunk: newTrunk(t, "sip:"+sim.Addr().String(), ""), Client: newClient(t),
				User: "trunk", Password: "s3cret", Domain: "pbx.test", Expires: 2 * time.Second,
				Contact: contact, ContactUser: "gw1", MinBackoff: 50 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			stop := running(t, r)
			// Granted 2s: refreshed every second; three REGISTERs
			// accepted means two refreshes, each before expiry.
			waitFor(t, "two refreshes", func() bool { return reg(sim).Count >= 3 })
			got := reg(sim)
			if got.AOR != "trunk@pbx.test" || got.User != "trunk" || !strings.EqualFold(got.Algorithm, alg) ||
				!strings.HasPrefix(got.Contact, "sip:gw1@127.0.0.1:5999") || got.Expires != 2 {
				t.Errorf("registrar saw %+v", got)
			}
			st := r.Status()
			if st.State != Registered || st.Target != "udp:"+sim.Addr().String() || st.LastStatus != 200 || st.Expires.IsZero() {
				t.Errorf("status %+v", st)
			}
			stop()
			if got := reg(sim); got.Expires != 0 || got.Active(time.Now()) {
				t.Errorf("after stop the registrar has %+v, want expires 0", got)
			}
			if st := r.Status(); st.State != Unregistered {
				t.Errorf("status after stop %+v", st)
			}
		})
	}
}

// TestFailover: of three SRV targets the first answers 503 with
// Retry-After and the second not at all, so the registration lands on the
// third; the first two are then down and tried last.
func TestFailover(t *testing.T) {
	primary := startSim(t, pbx.Options{RetryAfter: 60})
	primary.SetMode(pbx.Unavailable503)
	dead := startSim(t, pbx.Options{})
	dead.SetMode(pbx.Dead)
	secondary := startSim(t, pbx.Options{})
	zone := srvZone(t, primary, dead, secondary)
	r, err := New(Options{
		Trunk: newTrunk(t, "sip:pbx.test;transport=udp", zone), Client: newClient(t),
		User: "trunk", Password: "x", Expires: 2 * time.Second, Contact: contact,
		MinBackoff: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	running(t, r)
	waitFor(t, "registration at the secondary", func() bool { return reg(secondary).Count >= 2 })
	if len(primary.Registrations()) != 0 || len(dead.Registrations()) != 0 {
		t.Errorf("primary or dead target holds a registration")
	}
	if c := primary.Counters().Registers; c != 1 {
		t.Errorf("primary got %d REGISTERs, want 1 (then it is down for Retry-After)", c)
	}
	if st := r.Status(); st.State != Registered || st.Target != "udp:"+secondary.Addr().String() {
		t.Errorf("status %+v", st)
	}
	if got := reg(secondary).AOR; got != "trunk@pbx.test" {
		t.Errorf("AOR %q, want the trunk's domain", got)
	}
}

// TestRejected: a wrong password fails (403), is retried with backoff,
// and never tried on another target.
func TestRejected(t *testing.T) {
	sim := startSim(t, pbx.Options{Realm: "pbx.test", Users: map[string]string{"trunk": "right"}})
	r, err := New(Options{
		Trunk: newTrunk(t, "sip:"+sim.Addr().String(), ""), Client: newClient(t),
		User: "trunk", Password: "wrong", Contact: contact,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	running(t, r)
	waitFor(t, "three failures", func() bool { return r.Status().Failures >= 3 })
	st := r.Status()
	if st.State != Failed || st.LastStatus != 403 || !strings.Contains(st.LastError, "rejected") {
		t.Errorf("status %+v", st)
	}
	if len(sim.Registrations()) != 0 {
		t.Error("registrar accepted a wrong password")
	}
}

func TestNewErrors(t *testing.T) {
	tr := newTrunk(t, "sip:127.0.0.1:5060", "")
	c := newClient(t)
	for _, o := range []Options{
		{Client: c, User: "u", Contact: contact},
		{Trunk: tr, User: "u", Contact: contact},
		{Trunk: tr, Client: c, Contact: contact},
		{Trunk: tr, Client: c, User: "u"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
	r, err := New(Options{Trunk: tr, Client: c, User: "u", Contact: contact})
	if err != nil {
		t.Fatal(err)
	}
	if st := r.Status(); st.AOR != "u@127.0.0.1" || st.State != Registering {
		t.Errorf("initial status %+v", st)
	}
	_ = errors.New
}

// TestIntervalTooBrief: a 423 with Min-Expires is followed at once with
// that lifetime (RFC 3261 §10.2.8).
func TestIntervalTooBrief(t *testing.T) {
	sim := startSim(t, pbx.Options{MinExpires: 3600})
	r, err := New(Options{
		Trunk: newTrunk(t, "sip:"+sim.Addr().String(), ""), Client: newClient(t),
		User: "trunk", Password: "x", Expires: 600 * time.Second, Contact: contact,
	})
	if err != nil {
		t.Fatal(err)
	}
	running(t, r)
	// The PBX counts the registration when it sends its 200; the client
	// is registered once that 200 came back.
	waitFor(t, "registration", func() bool { return reg(sim).Count == 1 && r.Status().State == Registered })
	if got := reg(sim).Expires; got != 3600 {
		t.Errorf("registered for %d s, want Min-Expires 3600", got)
	}
	if st := r.Status(); st.State != Registered || time.Until(st.Expires) < 59*time.Minute {
		t.Errorf("status %+v", st)
	}
}
