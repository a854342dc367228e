package e2e

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestMethods: OPTIONS gets 200 with Allow listing REGISTER and OPTIONS;
// a known method the gateway does not handle gets 405 with Allow; an
// unknown method gets 501. Over UDP and TCP.
func TestMethods(t *testing.T) {
	t.Parallel()
	g := startGateway(t, "")
	for _, tr := range []string{"udp", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			addr := g.UDP
			if tr == "tcp" {
				addr = g.TCP
			}
			c := dialSIP(t, tr, "127.0.0.1", addr)
			cases := []struct {
				method    string
				want      int
				wantAllow bool
			}{
				{"OPTIONS", 200, true},
				{"SUBSCRIBE", 405, true},
				{"FOO", 501, false},
			}
			for _, tc := range cases {
				extra := []string{}
				if tc.method == "SUBSCRIBE" {
					extra = append(extra, "Event: presence", "Expires: 600", c.contact("u1000"))
				}
				res := c.roundTrip(c.request(tc.method, "sip:x@example.com", "u1000", extra...))
				if res.Status != tc.want {
					t.Errorf("%s: %d %s, want %d\n%s", tc.method, res.Status, res.Reason, tc.want, res.Raw)
					continue
				}
				allow := res.get("Allow")
				if tc.wantAllow && (!strings.Contains(allow, "REGISTER") || !strings.Contains(allow, "OPTIONS")) {
					t.Errorf("%s: Allow %q, want REGISTER and OPTIONS in it", tc.method, allow)
				}
			}
			// The literal request of the brief: FOO sip:x SIP/2.0.
			if res := c.roundTrip(c.request("FOO", "sip:x", "u1000")); res.Status != 501 {
				t.Errorf("FOO sip:x: %d %s, want 501", res.Status, res.Reason)
			}
		})
	}
	g.requireAlive()
}

// TestBadInput drives the input guard from outside: malformed requests get
// 400, oversize ones 513, garbage nothing; a REGISTER over the UDP MTU is
// still answered; a flood from one source is mostly dropped while another
// source is served; password guessing gets a source banned until the ban
// is lifted. Afterwards the process is healthy and the bindings made
// before the attacks are intact.
func TestBadInput(t *testing.T) {
	t.Parallel()
	g := startGatewaySIP(t, "max_message_size: 4000", `security:
  rate_limit: {requests_per_second: 50, burst: 100}
  ban: {failures: 10, window: 1m, duration: 15m}
users:
  - {username: u1000, password: secret}
  - {username: u1001, password: secret}
  - {username: u1002, password: secret}
`)

	// Bindings made before the attacks.
	for i, tr := range []string{"udp", "tcp"} {
		addr := map[string]string{"udp": g.UDP, "tcp": g.TCP}[tr]
		c := dialSIP(t, tr, "127.0.0.1", addr)
		if res := c.register(fmt.Sprintf("u100%d", i), "secret"); res.Status != 200 {
			t.Fatalf("REGISTER over %s: %d %s", tr, res.Status, res.Reason)
		}
	}
	before := g.registrations()

	for _, tr := range []string{"udp", "tcp"} {
		addr := map[string]string{"udp": g.UDP, "tcp": g.TCP}[tr]
		t.Run(tr, func(t *testing.T) {
			t.Run("malformed-400", func(t *testing.T) {
				c := dialSIP(t, tr, "127.0.0.1", addr)
				msg := strings.Replace(c.request("OPTIONS", "sip:example.com", "u1000"), "OPTIONS\r\n", "INVITE\r\n", 1) // CSeq method mismatch
				if res := c.roundTrip(msg); res.Status != 400 {
					t.Errorf("CSeq method mismatch: %d %s, want 400", res.Status, res.Reason)
				}
			})
			t.Run("oversize-513", func(t *testing.T) {
				c := dialSIP(t, tr, "127.0.0.1", addr)
				msg := c.request("OPTIONS", "sip:example.com", "u1000", "X-Padding: "+strings.Repeat("a", 5000))
				if res := c.roundTrip(msg); res.Status != 513 {
					t.Errorf("%d-byte request: %d %s, want 513", len(msg), res.Status, res.Reason)
				}
			})
			t.Run("garbage-dropped", func(t *testing.T) {
				c := dialSIP(t, tr, "127.0.0.1", addr)
				junk := make([]byte, 700)
				_, _ = rand.Read(junk)
				junk[0] = 'x' // not STUN, not CRLF
				c.expectNoResponse(string(junk), 300*time.Millisecond)
				c.expectNoResponse("hello there\r\n\r\n", 300*time.Millisecond)
				g.requireAlive()
				c2 := dialSIP(t, tr, "127.0.0.1", addr)
				if res := c2.roundTrip(c2.request("OPTIONS", "sip:example.com", "u1000")); res.Status != 200 {
					t.Errorf("OPTIONS after garbage: %d", res.Status)
				}
			})
		})
	}

	t.Run("udp-over-mtu", func(t *testing.T) {
		c := dialSIP(t, "udp", "127.0.0.1", g.UDP)
		msg := c.request("REGISTER", "sip:example.com", "u1002", c.contact("u1002"), "X-Padding: "+strings.Repeat("p", 2000))
		if len(msg) <= 1500 || len(msg) >= 4000 {
			t.Fatalf("test message is %d bytes", len(msg))
		}
		if res := c.roundTrip(msg); res.Status != 401 {
			t.Errorf("%d-byte REGISTER over UDP: %d %s, want 401", len(msg), res.Status, res.Reason)
		}
	})

	t.Run("flood", func(t *testing.T) {
		const n = 20000
		flood := dialSIP(t, "udp", "127.0.0.4", g.UDP)
		var answered atomic.Int64
		var wg sync.WaitGroup
		wg.Add(1)
		stopRead := make(chan struct{})
		go func() {
			defer wg.Done()
			buf := make([]byte, 65536)
			for {
				_ = flood.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				if _, err := flood.conn.Read(buf); err == nil {
					answered.Add(1)
					continue
				}
				select {
				case <-stopRead:
					return
				default:
				}
			}
		}()
		other := dialSIP(t, "udp", "127.0.0.2", g.UDP)
		start := time.Now()
		var otherOK, otherTried int
		for i := range n {
			msg := flood.request("OPTIONS", "sip:example.com", "u1000")
			if _, err := flood.conn.Write([]byte(msg)); err != nil {
				t.Fatalf("flood write: %v", err)
			}
			if i%4000 == 2000 { // the second source during the flood
				otherTried++
				other.send(other.request("OPTIONS", "sip:example.com", "u1001"))
				if res, err := other.read(2 * time.Second); err == nil && res.Status == 200 {
					otherOK++
				}
			}
		}
		elapsed := time.Since(start)
		time.Sleep(300 * time.Millisecond) // let the last answers arrive
		close(stopRead)
		wg.Wait()
		got := answered.Load()
		limit := int64(100 + 50*elapsed.Seconds() + 50)
		t.Logf("flood: %d OPTIONS in %v, %d answered (limit %d); second source %d/%d answered", n, elapsed.Round(time.Millisecond), got, limit, otherOK, otherTried)
		if got == 0 || got > limit {
			t.Errorf("flood source got %d answers, want 1..%d", got, limit)
		}
		if otherOK != otherTried {
			t.Errorf("second source answered %d of %d times during the flood", otherOK, otherTried)
		}
		g.requireAlive()
	})

	t.Run("ban", func(t *testing.T) {
		const ip = "127.0.0.3"
		c := dialSIP(t, "udp", ip, g.UDP)
		res := c.roundTrip(c.request("REGISTER", "sip:example.com", "u1000", c.contact("u1000")))
		if res.Status != 401 {
			t.Fatalf("first REGISTER: %d", res.Status)
		}
		answered := 0
		for i := range 12 {
			auth, err := digestAuthorization(res.Headers["www-authenticate"], "REGISTER", "sip:example.com", "u1000", "wrong")
			if err != nil {
				t.Fatal(err)
			}
			c.send(c.request("REGISTER", "sip:example.com", "u1000", c.contact("u1000"), "Authorization: "+auth))
			r, err := c.read(time.Second)
			if err != nil {
				if i < 10 {
					t.Fatalf("wrong password #%d: no answer before the ban threshold: %v", i+1, err)
				}
				continue
			}
			answered++
			if r.Status != 401 {
				t.Errorf("wrong password #%d: %d %s, want 401", i+1, r.Status, r.Reason)
			}
			res = r
		}
		if answered != 10 {
			t.Errorf("%d of 12 wrong-password REGISTERs answered, want 10 (ban after 10 failures)", answered)
		}
		// The API and the CLI list the ban.
		if !hasBan(g.bans(), ip) {
			t.Errorf("GET /api/v1/bans does not list %s: %+v", ip, g.bans())
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			out, errOut, code := cli(t, "bans", "--config", g.cfgPath)
			if code == 0 && strings.Contains(out, ip) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("switchboard bans (exit %d) does not list %s:\n%s%s", code, ip, out, errOut)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// Banned: nothing is answered, on UDP or TCP.
		c.expectNoResponse(c.request("OPTIONS", "sip:example.com", "u1000"), 500*time.Millisecond)
		if tc, err := dialSIPErr("tcp", ip, g.TCP); err == nil {
			tc.t = t
			_, _ = tc.conn.Write([]byte(tc.request("OPTIONS", "sip:example.com", "u1000")))
			if r, err := tc.read(500 * time.Millisecond); err == nil {
				t.Errorf("banned source answered over TCP: %d", r.Status)
			}
			tc.conn.Close()
		}
		// Lifting the ban.
		if code, body := g.api("DELETE", "/api/v1/bans/"+ip); code != http.StatusNoContent {
			t.Fatalf("DELETE /api/v1/bans/%s: %d %s", ip, code, body)
		}
		if hasBan(g.bans(), ip) {
			t.Errorf("ban still listed after DELETE")
		}
		if out, _, _ := cli(t, "bans", "--config", g.cfgPath); strings.Contains(out, ip) {
			t.Errorf("switchboard bans still lists %s after DELETE:\n%s", ip, out)
		}
		if r := c.roundTrip(c.request("OPTIONS", "sip:example.com", "u1000")); r.Status != 200 {
			t.Errorf("OPTIONS after unban: %d", r.Status)
		}
	})

	// After all of it: healthy, same bindings.
	g.requireAlive()
	if code, body := g.api("GET", "/healthz"); code != 200 || !bytes.HasPrefix(body, []byte("ok")) {
		t.Errorf("/healthz: %d %q", code, body)
	}
	after := byAOR(g.registrations())
	for _, b := range before {
		a, ok := after[b.AOR]
		if !ok || a.Contact != b.Contact {
			t.Errorf("binding %s %s lost or changed by the attacks: %+v", b.AOR, b.Contact, a)
		}
	}
	if len(before) != 2 {
		t.Errorf("%d bindings before the attacks, want 2", len(before))
	}
}

func hasBan(bs []ban, ip string) bool {
	for _, b := range bs {
		if b.IP == ip {
			return true
		}
	}
	return false
}
