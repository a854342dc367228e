package e2e

import (
	"regexp"
	"strconv"
	"testing"
	"time"
)

var reAudioPort = regexp.MustCompile(`(?m)^m=audio (\d+) `)

// TestRelayPortsUnpredictable: an attacker who sees the relay port in the
// SDP of one call (its own, say) must not be able to guess the next
// call's, to spray it before the parties latch (issue 10, Media: "ports
// allocated in random order"). Seven calls through the gateway to the
// trunk, one after the other: the relay ports the trunk is offered do not
// climb a few at a time, as ports handed out in order would.
func TestRelayPortsUnpredictable(t *testing.T) {
	pbx := newRawPBX(t, "127.0.0.2")
	g := startGateway(t, cosConfig(pbx.port(), ""))
	var ports []int
	for i := range 7 {
		done := make(chan int, 1)
		go func() { c, _ := dialStatus(t, g, "0441234567", 10*time.Second); done <- c }()
		inv, from := pbx.next(5*time.Second, "INVITE")
		if inv == "" {
			t.Fatalf("call %d never reached the trunk", i+1)
		}
		m := reAudioPort.FindStringSubmatch(inv)
		if m == nil {
			t.Fatalf("call %d: no m=audio in the INVITE to the trunk:\n%s", i+1, inv)
		}
		p, _ := strconv.Atoi(m[1])
		ports = append(ports, p)
		pbx.send(response(inv, 486, "Busy Here", randHex(4), "", ""), from)
		if c := <-done; c != 486 {
			t.Fatalf("call %d: %d, want the trunk's 486", i+1, c)
		}
	}
	t.Logf("relay ports offered to the trunk: %v", ports)
	// Handed out in order, each port is a few above the last (other
	// gateways on this machine take some between); at random in a range of
	// 10,000, a step of 1 to 32 comes once in about 160 calls.
	near := 0
	for i := 1; i < len(ports); i++ {
		if d := ports[i] - ports[i-1]; d > 0 && d <= 32 {
			near++
		}
	}
	if near >= (len(ports)-1)/2 {
		t.Errorf("relay ports %v: %d of %d steps are 1 to 32 ports up: the next call's port can be guessed", ports, near, len(ports)-1)
	}
}
