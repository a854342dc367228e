package dnssrv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestFailover sends through a trunk whose primary (127.0.0.2) misbehaves
// in each way RFC 3263 §4.3 names, and checks the secondary (127.0.0.3)
// answers within the goals and that health follows.
func TestFailover(t *testing.T) {
	tests := []struct {
		name    string
		network string
		primary func(t *testing.T, port int) // sets up 127.0.0.2
		within  time.Duration
		status  int // status of the primary's attempt
	}{
		{"udp refused", "udp", func(*testing.T, int) {}, time.Second, 0},
		{"udp black hole", "udp", func(t *testing.T, p int) { blackHole(t, fmt.Sprintf("127.0.0.2:%d", p)) }, 1500 * time.Millisecond, 0},
		{"tcp refused", "tcp", func(*testing.T, int) {}, 200 * time.Millisecond, 0},
		{"503 retry-after", "udp", func(t *testing.T, p int) {
			u := startUAS(t, "udp", fmt.Sprintf("127.0.0.2:%d", p))
			u.status.Store(503)
			u.retry.Store(60)
		}, 200 * time.Millisecond, 503},
		{"killed mid-test", "udp", func(t *testing.T, p int) {
			startUAS(t, "udp", fmt.Sprintf("127.0.0.2:%d", p)).stop()
		}, time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := freePort(t, tt.network)
			z := pbxZone(t, port)
			r := newTestResolver(t, Options{IPv4Only: true}, z.Addr)
			tt.primary(t, port)
			secondary := startUAS(t, tt.network, fmt.Sprintf("127.0.0.3:%d", port))
			tr := newTrunk(t, r, TrunkOptions{Target: "sip:pbx.test;transport=" + tt.network,
				Probe: ProbeOptions{Interval: time.Hour, Timeout: 200 * time.Millisecond}})
			tr.prober = &OptionsProber{Client: newClient(t)} // confirms timeouts
			s := &Sender{Client: newClient(t)}

			start := time.Now()
			req := message(t)
			res, err := s.Send(context.Background(), tr, req)
			took := time.Since(start)
			if err != nil {
				t.Fatalf("Send: %v (attempts %+v)", err, res.Attempts)
			}
			defer res.Tx.Terminate()
			// The primary got a copy; the last target req itself (no
			// copy of a request nothing else will read).
			if res.Request != req {
				t.Errorf("the last target's attempt sent a copy of req")
			}
			if res.Response.StatusCode != 200 || res.Target.Addr.Addr().String() != "127.0.0.3" {
				t.Fatalf("answered %d by %s", res.Response.StatusCode, res.Target)
			}
			// The goal is logged, not asserted: tests never assert
			// wall-clock times (make bench-failover measures them).
			t.Logf("%s: secondary answered after %v (goal %v)", tt.name, took, tt.within)
			if len(res.Attempts) != 2 || res.Attempts[0].Status != tt.status {
				t.Errorf("attempts %+v", res.Attempts)
			}
			if secondary.got.Load() != 1 {
				t.Errorf("secondary got %d requests", secondary.got.Load())
			}
			// The primary is down now (at once for a refusal or a 503, once
			// the probe confirmed a timeout): the next request goes
			// straight to the secondary.
			waitFor(t, func() bool { return tr.Health().Status(res.Attempts[0].Target).State == StateDown })
			res2, err := s.Send(context.Background(), tr, message(t))
			if err != nil || len(res2.Attempts) != 1 || res2.Target.Addr.Addr().String() != "127.0.0.3" {
				t.Errorf("second send: %v, %+v", err, res2)
			}
			if res2 != nil && res2.Tx != nil {
				res2.Tx.Terminate()
			}
		})
	}
}

// TestInviteProvisionalStays: an INVITE answered 180 is not re-sent, and
// the caller gets the live transaction for the rest.
func TestInviteProvisionalStays(t *testing.T) {
	port := freePort(t, "udp")
	z := pbxZone(t, port)
	r := newTestResolver(t, Options{IPv4Only: true}, z.Addr)
	primary := startUAS(t, "udp", fmt.Sprintf("127.0.0.2:%d", port))
	secondary := startUAS(t, "udp", fmt.Sprintf("127.0.0.3:%d", port))
	tr := newTrunk(t, r, TrunkOptions{Target: "sip:pbx.test"})
	s := &Sender{Client: newClient(t)}
	res, err := s.Send(context.Background(), tr, invite(t))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Tx.Terminate()
	if res.Response.StatusCode != 180 || primary.got.Load() != 1 || secondary.got.Load() != 0 {
		t.Fatalf("first response %d; primary %d, secondary %d", res.Response.StatusCode, primary.got.Load(), secondary.got.Load())
	}
	select {
	case final := <-res.Tx.Responses():
		if final.StatusCode != 200 {
			t.Errorf("final %d", final.StatusCode)
		}
	case <-time.After(2 * time.Second):
		t.Error("no final response on the returned transaction")
	}
}

// TestAllDown: every target fails; the error says so, and all were tried
// in order. Then, both down, the next request still tries both (never
// blocklist the whole set).
func TestAllDown(t *testing.T) {
	port := freePort(t, "udp")
	z := pbxZone(t, port)
	r := newTestResolver(t, Options{IPv4Only: true}, z.Addr)
	// The last target is waited for until the trunk's timeout (nothing is
	// left to fail over to); the others for the failover timeout.
	tr := newTrunk(t, r, TrunkOptions{Target: "sip:pbx.test;transport=udp", FailoverTimeout: 100 * time.Millisecond, Timeout: 400 * time.Millisecond})
	s := &Sender{Client: newClient(t)}
	for i := range 2 {
		res, err := s.Send(context.Background(), tr, message(t))
		if !errors.Is(err, ErrAllFailed) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		if len(res.Attempts) != 2 || res.Attempts[0].Target.Addr.Addr().String() != "127.0.0.2" ||
			!strings.Contains(res.Attempts[0].Err, ErrFailoverTimeout.Error()) {
			t.Fatalf("send %d: attempts %+v", i, res.Attempts)
		}
	}
	// Two timeouts in a row: the primary is down and goes last; the
	// secondary, the last one up, gets the whole timeout.
	res, err := s.Send(context.Background(), tr, message(t))
	if !errors.Is(err, ErrAllFailed) || len(res.Attempts) != 1 || res.Attempts[0].Target.Addr.Addr().String() != "127.0.0.3" {
		t.Fatalf("third send: %v, attempts %+v", err, res.Attempts)
	}
	// Every target down: all are tried, in order, each for the failover
	// timeout only.
	tr.Health().Failed(res.Attempts[0].Target, errors.New("refused"))
	res, err = s.Send(context.Background(), tr, message(t))
	if !errors.Is(err, ErrAllFailed) || !errors.Is(err, ErrFailoverTimeout) || len(res.Attempts) != 2 {
		t.Fatalf("all down: %v, attempts %+v", err, res.Attempts)
	}
	// The overall timeout bounds the whole request.
	tr2 := newTrunk(t, r, TrunkOptions{Name: "short", Target: "sip:pbx.test;transport=udp", FailoverTimeout: 300 * time.Millisecond, Timeout: 350 * time.Millisecond})
	start := time.Now()
	if _, err := s.Send(context.Background(), tr2, message(t)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
	// A bound against a hang (the 350 ms timeout not honoured), not a
	// timing assertion: generous enough for a loaded CI machine.
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestFailoverCodes: a 486 is final by default and fails over when listed.
func TestFailoverCodes(t *testing.T) {
	port := freePort(t, "udp")
	z := pbxZone(t, port)
	r := newTestResolver(t, Options{IPv4Only: true}, z.Addr)
	primary := startUAS(t, "udp", fmt.Sprintf("127.0.0.2:%d", port))
	primary.status.Store(486)
	startUAS(t, "udp", fmt.Sprintf("127.0.0.3:%d", port))
	s := &Sender{Client: newClient(t)}
	res, err := s.Send(context.Background(), newTrunk(t, r, TrunkOptions{Target: "sip:pbx.test"}), message(t))
	if err != nil || res.Response.StatusCode != 486 {
		t.Fatalf("default: %v, %+v", err, res)
	}
	res.Tx.Terminate()
	res, err = s.Send(context.Background(), newTrunk(t, r, TrunkOptions{Name: "b", Target: "sip:pbx.test", FailoverCodes: []int{486, 503}}), message(t))
	if err != nil || res.Response.StatusCode != 200 {
		t.Fatalf("486 listed: %v, %+v", err, res)
	}
	res.Tx.Terminate()
}

// TestProbingBringsPrimaryBack: a dead primary is probed with OPTIONS and
// traffic returns to it once it answers.
func TestProbingBringsPrimaryBack(t *testing.T) {
	port := freePort(t, "udp")
	z := pbxZone(t, port)
	client := newClient(t)
	m, err := NewManager(ManagerOptions{
		Resolver: Options{Servers: []string{z.Addr}, IPv4Only: true, Timeout: 300 * time.Millisecond},
		Trunks: []TrunkOptions{{
			Name: "pbx", Target: "sip:pbx.test;transport=udp", FailoverTimeout: 150 * time.Millisecond,
			Probe: ProbeOptions{Interval: 100 * time.Millisecond, Timeout: 100 * time.Millisecond},
		}},
		Prober: &OptionsProber{Client: client, From: "sip:switchboard@gw.test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	m.Start(context.Background())
	defer m.Stop()
	tr, _ := m.Trunk("pbx")
	secondary := startUAS(t, "udp", fmt.Sprintf("127.0.0.3:%d", port))
	s := &Sender{Client: client}
	res, err := s.Send(context.Background(), tr, message(t))
	if err != nil || res.Target.Addr.Addr().String() != "127.0.0.3" {
		t.Fatalf("%v %+v", err, res)
	}
	res.Tx.Terminate()
	primaryKey := res.Attempts[0].Target

	// Probes of the primary fail while it is dead; the secondary, up, is
	// not probed (mode down).
	waitFor(t, func() bool { return tr.Health().Status(primaryKey).LastProbe.After(time.Time{}) })
	if st := tr.Health().Status(primaryKey); st.State != StateDown {
		t.Fatalf("primary %+v", st)
	}
	if secondary.options.Load() != 0 {
		t.Errorf("secondary probed %d times", secondary.options.Load())
	}
	primary := startUAS(t, "udp", fmt.Sprintf("127.0.0.2:%d", port))
	waitFor(t, func() bool { return tr.Health().Status(primaryKey).State == StateUp })
	if primary.options.Load() == 0 {
		t.Error("primary came back without a probe")
	}
	res, err = s.Send(context.Background(), tr, message(t))
	if err != nil || res.Target.Addr.Addr().String() != "127.0.0.2" || len(res.Attempts) != 1 {
		t.Fatalf("after recovery: %v %+v", err, res.Attempts)
	}
	res.Tx.Terminate()
	snap := m.Snapshot()
	if len(snap) != 1 || len(snap[0].Targets) != 2 || snap[0].Targets[0].Health.State != StateUp {
		t.Errorf("snapshot %+v", snap)
	}
}

// TestSlowOnlyTarget: a trunk's one server is slow to send its first
// response (longer than failover_timeout): with nothing to fail over to,
// it is waited for and takes the call, and it is not marked down.
func TestSlowOnlyTarget(t *testing.T) {
	port := freePort(t, "udp")
	u := startUAS(t, "udp", fmt.Sprintf("127.0.0.2:%d", port))
	u.delay.Store(int64(400 * time.Millisecond))
	r := newTestResolver(t, Options{IPv4Only: true})
	tr := newTrunk(t, r, TrunkOptions{Target: fmt.Sprintf("sip:127.0.0.2:%d", port), FailoverTimeout: 150 * time.Millisecond, Timeout: 5 * time.Second})
	s := &Sender{Client: newClient(t)}
	res, err := s.Send(context.Background(), tr, invite(t))
	if err != nil {
		t.Fatalf("Send: %v (attempts %+v)", err, res.Attempts)
	}
	defer res.Tx.Terminate()
	if !res.Response.IsProvisional() {
		t.Errorf("first response %d, want a provisional one", res.Response.StatusCode)
	}
	if st := tr.Health().Status(res.Target); st.State != StateUp || st.Fails != 0 {
		t.Errorf("slow target %+v", st)
	}
}
