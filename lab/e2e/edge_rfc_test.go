package e2e

import (
	"strings"
	"testing"
	"time"
)

// readFinal reads responses until a final one (skipping 100 Trying and
// other provisionals) or fails the test after 5 s.
func (c *sipConn) readFinal(what string) *sipResponse {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := c.read(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("%s: no final response: %v", what, err)
		}
		if res.Status >= 200 {
			return res
		}
	}
}

// TestRequire: a Require header naming an option tag the gateway does not
// implement gets 420 Bad Extension with the unknown tags in Unsupported
// (RFC 3261 §8.2.2.3), for INVITE, OPTIONS and REGISTER, over UDP and TCP;
// the tags it implements (100rel, timer, replaces for INVITE; path,
// outbound for REGISTER) are not refused.
func TestRequire(t *testing.T) {
	t.Parallel()
	g := startGateway(t, "")
	for _, tr := range []string{"udp", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			addr := map[string]string{"udp": g.UDP, "tcp": g.TCP}[tr]
			c := dialSIP(t, tr, "127.0.0.1", addr)
			cases := []struct {
				method, require, unsupported string
			}{
				{"OPTIONS", "nothingSupportsThis, nothingSupportsThisEither", "nothingSupportsThis, nothingSupportsThisEither"},
				{"INVITE", "100rel, x-unknown-ext", "x-unknown-ext"},
				{"INVITE", "precondition", "precondition"},
				{"REGISTER", "path, gruu", "gruu"},
			}
			for _, tc := range cases {
				extra := []string{"Require: " + tc.require, c.contact("u1000")}
				c.send(c.request(tc.method, "sip:u1000@example.com", "u1000", extra...))
				res := c.readFinal(tc.method)
				if res.Status != 420 {
					t.Errorf("%s Require: %s: %d %s, want 420\n%s", tc.method, tc.require, res.Status, res.Reason, res.Raw)
					continue
				}
				if got := res.get("Unsupported"); got != tc.unsupported {
					t.Errorf("%s Require: %s: Unsupported %q, want %q", tc.method, tc.require, got, tc.unsupported)
				}
			}
			// Supported tags pass the check: the INVITE goes on to
			// authentication, the OPTIONS is answered.
			c.send(c.request("INVITE", "sip:u1000@example.com", "u1000", "Require: 100rel, timer", "Session-Expires: 1800", c.contact("u1000")))
			if res := c.readFinal("INVITE"); res.Status == 420 {
				t.Errorf("INVITE Require: 100rel, timer: 420\n%s", res.Raw)
			}
			c.send(c.request("OPTIONS", "sip:example.com", "u1000", "Require: timer"))
			if res := c.readFinal("OPTIONS"); res.Status != 200 || !strings.Contains(res.get("Supported"), "100rel") {
				t.Errorf("OPTIONS Require: timer: %d, Supported %q; want 200 listing 100rel", res.Status, res.get("Supported"))
			}
		})
	}
	g.requireAlive()
}

// TestViaTransportOverUDP: requests that came over UDP are answered over
// UDP whatever their top Via names (TLS, SCTP, TCP): RFC 3261 §18.2.2
// sends the response on the transport the request arrived on. Covers the
// sipgo transaction path (OPTIONS, INVITE, an unknown method), the
// stateless REGISTER path, a request without a branch, the guard's own
// answers (400) and Require's 420, with and
// without rport. (Today's sipgo already answers on the receiving
// transport; this test keeps it so.)
func TestViaTransportOverUDP(t *testing.T) {
	t.Parallel()
	g := startGateway(t, "")
	for _, via := range []string{"TLS", "SCTP", "TCP"} {
		for _, rport := range []bool{true, false} {
			c := dialSIP(t, "udp", "127.0.0.46", g.UDP)
			c.transport = via // what buildRequest writes in the Via
			cases := []struct {
				method string
				extra  []string
				want   int
			}{
				{"OPTIONS", nil, 200},
				{"REGISTER", []string{c.contact("u1000")}, 401},
				{"INVITE", []string{c.contact("u1000")}, 407},
				{"FOO", nil, 501},
				{"OPTIONS", []string{"Require: x-unknown"}, 420},
			}
			for _, tc := range cases {
				msg := c.request(tc.method, "sip:u1000@example.com", "u1000", tc.extra...)
				if !rport {
					msg = strings.Replace(msg, ";rport", "", 1)
				}
				c.send(msg)
				res := c.readFinal(via + " " + tc.method)
				if res.Status != tc.want {
					t.Errorf("Via %s rport=%v %s: %d %s, want %d", via, rport, tc.method, res.Status, res.Reason, tc.want)
				}
			}
			// No RFC 3261 branch (an RFC 2543 client): answered too.
			c.send(strings.Replace(c.request("OPTIONS", "sip:example.com", "u1000"), ";branch=z9hG4bK", ";x=", 1))
			c.readFinal(via + " no branch")
			// The guard answers a malformed request itself.
			bad := strings.Replace(c.request("OPTIONS", "sip:example.com", "u1000"), "CSeq: ", "CSeq: x", 1)
			c.send(bad)
			if res := c.readFinal(via + " malformed"); res.Status != 400 {
				t.Errorf("Via %s malformed: %d, want 400", via, res.Status)
			}
		}
	}
	g.requireAlive()
}
