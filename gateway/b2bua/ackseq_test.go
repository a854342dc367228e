package b2bua

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestStaleAckKeeps2xxRetransmitting: the ACK of the 407 that came before
// an authenticated INVITE has the dialog's tags (the 407's To tag is kept
// for the dialog) but the earlier CSeq. Handled late on a loaded gateway it
// arrives after the 2xx, and it must not count as the 2xx's ACK (RFC 3261
// §13.2.2.4: that one carries the INVITE's CSeq number): the 2xx is
// retransmitted until the real ACK (RFC 3261 §13.3.1.4). Before, the stale
// ACK stopped the retransmissions and a lost 2xx failed the call (seen in
// the calls benchmark: SIPp never got its 200, the gateway sent BYE after
// 32 s).
func TestStaleAckKeeps2xxRetransmitting(t *testing.T) {
	dev := startForkDevice(t, false, 5*time.Millisecond)
	_, gw, _ := startRetainGateway(t, dev)
	c := newCaller(t, gw)
	c.send("INVITE", "sip:1001@example.com", "<sip:1001@example.com>", 2, forkSDP)
	res := c.final()
	if res.status() != 200 {
		t.Fatalf("caller got %s", res.first)
	}
	to := res.get("To")
	target := strings.TrimSuffix(strings.TrimPrefix(res.get("Contact"), "<"), ">")
	c.send("ACK", target, to, 1, "") // the 407's ACK, late: CSeq 1 on its own branch
	buf := make([]byte, 65536)
	again := false
	end := time.Now().Add(4 * sip.T1) // the 2xx comes again T1 and 3*T1 after the first
	for !again && time.Now().Before(end) {
		_ = c.pc.SetReadDeadline(end)
		n, src, err := c.pc.ReadFrom(buf)
		if err != nil {
			break
		}
		again = parseRaw(buf[:n], src).status() == 200
	}
	if !again {
		t.Fatal("the 2xx was not retransmitted after an ACK of CSeq 1 to an INVITE of CSeq 2")
	}
	c.send("ACK", target, to, 2, "")
	c.send("BYE", target, to, 3, "")
	if bye := c.final(); bye.status() != 200 {
		t.Fatalf("BYE got %s", bye.first)
	}
}
