package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestReplayAndRetransmission sends an answered, authenticated REGISTER
// again in two ways over UDP. The same datagram (same branch: a
// retransmission, RFC 3261 §17.2.2) gets the same 200 OK again; the same
// credentials in a new transaction (a replay, same nonce-count) are refused
// with a fresh challenge (RFC 7616 §3.3), and nothing changes in the store.
func TestReplayAndRetransmission(t *testing.T) {
	g := startGateway(t, "")
	c := dialSIP(t, "udp", "127.0.0.1", g.UDP)
	defer c.conn.Close()

	contact := c.contact("u1000")
	res := c.roundTrip(c.request("REGISTER", "sip:example.com", "u1000", contact))
	if res.Status != 401 {
		t.Fatalf("first REGISTER: %s", firstLine(res.Raw))
	}
	auth, err := digestAuthorization(res.Headers["www-authenticate"], "REGISTER", "sip:example.com", "u1000", "secret")
	if err != nil {
		t.Fatal(err)
	}
	signed := c.request("REGISTER", "sip:example.com", "u1000", contact, "Authorization: "+auth)
	ok := c.roundTrip(signed)
	if ok.Status != 200 {
		t.Fatalf("authenticated REGISTER: %s", firstLine(ok.Raw))
	}
	again := c.roundTrip(signed)
	if again.Status != 200 || again.Raw != ok.Raw {
		t.Fatalf("retransmission answered differently:\n%s\n---\n%s", ok.Raw, again.Raw)
	}

	// The replay: a new branch and CSeq, the captured Authorization.
	replay := c.roundTrip(c.request("REGISTER", "sip:example.com", "u1000",
		"Contact: <sip:attacker@192.0.2.66:5060>", "Authorization: "+auth))
	if replay.Status != 401 {
		t.Fatalf("replayed credentials: %s, want 401", firstLine(replay.Raw))
	}
	regs := g.waitRegistrations(5*time.Second, "one binding, not the attacker's", func(rs []registration) bool {
		return len(rs) == 1
	})
	if strings.Contains(regs[0].Contact, "attacker") {
		t.Fatalf("replayed REGISTER changed the bindings: %+v", regs)
	}
}
