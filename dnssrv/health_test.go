package dnssrv

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

func tgt(addr string) Target {
	return Target{Transport: UDP, Addr: netip.MustParseAddrPort(addr)}
}

func order(h *Health, ts ...Target) string {
	s := ""
	for _, t := range h.Order(ts) {
		s += t.Addr.Addr().String() + " "
	}
	return s
}

func TestHealth(t *testing.T) {
	c := newClock()
	a, b, x := tgt("192.0.2.1:5060"), tgt("192.0.2.2:5060"), tgt("192.0.2.3:5060")
	boom := errors.New("boom")

	t.Run("max_fails", func(t *testing.T) {
		h := NewHealth(HealthOptions{MaxFails: 2, Now: c.Now})
		if h.Status(a).State != StateUnknown || !h.Up(a) {
			t.Fatal("unknown target not usable")
		}
		h.Failed(a, boom)
		if !h.Up(a) {
			t.Fatal("down after 1 of 2 failures")
		}
		h.Failed(a, boom)
		if h.Up(a) || h.Status(a).LastError != "boom" {
			t.Fatalf("%+v", h.Status(a))
		}
		if got := order(h, a, b, x); got != "192.0.2.2 192.0.2.3 192.0.2.1 " {
			t.Errorf("order %s", got)
		}
		h.Succeeded(a) // a request it answered brings it back
		if got := order(h, a, b, x); got != "192.0.2.1 192.0.2.2 192.0.2.3 " {
			t.Errorf("order %s", got)
		}
	})
	t.Run("all down keeps order", func(t *testing.T) {
		h := NewHealth(HealthOptions{Now: c.Now})
		h.Failed(a, boom)
		h.Failed(b, boom)
		if got := order(h, a, b); got != "192.0.2.1 192.0.2.2 " {
			t.Errorf("order %s", got)
		}
	})
	t.Run("retry-after", func(t *testing.T) {
		h := NewHealth(HealthOptions{MaxFails: 3, Now: c.Now})
		h.Overloaded(a, time.Minute, boom)
		if h.Up(a) || h.beginProbe(a, true) {
			t.Fatal("503 with Retry-After: usable or probed at once")
		}
		c.Add(61 * time.Second)
		if !h.beginProbe(a, false) {
			t.Fatal("not probed after Retry-After")
		}
		if h.beginProbe(a, false) {
			t.Fatal("two probes at once")
		}
		h.Probed(a, time.Millisecond, nil)
		h.endProbe(a)
		if !h.Up(a) {
			t.Fatal("not up after a good probe")
		}
		h.Overloaded(b, 0, boom) // no Retry-After: one failure of 3
		if !h.Up(b) {
			t.Fatal("503 without Retry-After took it down at once")
		}
	})
	t.Run("up_after", func(t *testing.T) {
		h := NewHealth(HealthOptions{UpAfter: 2, Now: c.Now})
		h.Failed(a, boom)
		h.Probed(a, 0, nil)
		if h.Up(a) {
			t.Fatal("up after 1 of 2 probes")
		}
		h.Probed(a, 0, boom)
		h.Probed(a, 0, nil)
		if h.Up(a) {
			t.Fatal("a failed probe did not reset the count")
		}
		h.Probed(a, 0, nil)
		if !h.Up(a) {
			t.Fatal("not up after 2 probes in a row")
		}
	})
	t.Run("down_for without probing", func(t *testing.T) {
		h := NewHealth(HealthOptions{DownFor: 30 * time.Second, Now: c.Now})
		h.Failed(a, boom)
		c.Add(29 * time.Second)
		if h.Up(a) {
			t.Fatal("up too early")
		}
		c.Add(2 * time.Second)
		if !h.Up(a) {
			t.Fatal("not up after down_for")
		}
	})
}

// TestTimeoutIsNotDeath: one request without a response in time (a lost
// INVITE, a slow PBX) makes a target suspect, not down, even with
// MaxFails 1; a late answer or an answered probe clears it; a failed
// probe confirms it (down); two timeouts in a row are down without a
// probe. Hard failures still count against MaxFails at once.
func TestTimeoutIsNotDeath(t *testing.T) {
	a := tgt("10.0.0.1:5060")
	h := NewHealth(HealthOptions{MaxFails: 1})
	if !h.TimedOut(a, ErrFailoverTimeout) || !h.Up(a) || !h.Status(a).Suspect {
		t.Fatalf("after one timeout: %+v", h.Status(a))
	}
	h.Alive(a) // the branch given up on answered late
	if st := h.Status(a); st.Suspect || st.Fails != 0 || st.State != StateUp {
		t.Fatalf("after a late answer: %+v", st)
	}
	h.TimedOut(a, ErrFailoverTimeout)
	if !h.beginProbe(a, false) {
		t.Fatal("a suspect target is not probed")
	}
	h.endProbe(a)
	h.Probed(a, time.Millisecond, nil)
	if st := h.Status(a); st.Suspect || st.State != StateUp {
		t.Fatalf("after an answered probe: %+v", st)
	}
	h.TimedOut(a, ErrFailoverTimeout)
	h.Probed(a, 0, ErrFailoverTimeout)
	if h.Up(a) {
		t.Fatalf("a failed probe did not confirm the timeout: %+v", h.Status(a))
	}
	b := tgt("10.0.0.2:5060")
	h.TimedOut(b, ErrFailoverTimeout)
	if h.TimedOut(b, ErrFailoverTimeout) || h.Up(b) {
		t.Fatalf("two timeouts in a row: %+v", h.Status(b))
	}
	c := tgt("10.0.0.3:5060")
	h.Failed(c, errors.New("connection refused"))
	if h.Up(c) {
		t.Fatal("a transport error with MaxFails 1 did not mark down")
	}
}
