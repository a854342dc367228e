package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/lab/pbx"
)

// TestSIPpThroughLabPBX: SIPp callers (407, then authenticated, streaming
// RTP) → gateway → the lab PBX simulator, which rings with 183 and early
// media (a 425 Hz tone) and answers playing the tone. Every call completes,
// and the PBX counted the callers' RTP on each call.
func TestSIPpThroughLabPBX(t *testing.T) {
	sim := startPBX(t, pbx.Options{Addr: "127.0.0.2:0",
		Numbers: map[string]pbx.Number{"2000": {Action: pbx.Answer, Ring: 200 * time.Millisecond, Early: true, Media: pbx.Tone}}})
	g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
security: {trusted_callers: [127.0.0.0/8], exempt_sources: [127.0.0.0/8]}
trunks:
  - {name: pbx, target: "sip:%s", probe: {interval: 0s}, match: ["2000"]}
`, sim.Addr()))
	const n = 5
	if out, err := runUAC(t, "call_uac_auth.xml", g.UDP, "2000", n); err != nil {
		t.Fatalf("sipp uac: %v\n%s\ngateway:\n%s", err, tail(out, 3000), tail(g.log.String(), 3000))
	}
	waitUntil(t, 5*time.Second, "the PBX to see every call end", func() bool {
		ended := 0
		for _, c := range sim.Calls() {
			if c.Ended {
				ended++
			}
		}
		return ended >= n
	})
	for _, c := range sim.Calls() {
		if !c.Answered || c.Media.Received == 0 || c.Media.Sent == 0 {
			t.Errorf("call %s at the PBX: answered %v, RTP received %d, sent %d", c.ID, c.Answered, c.Media.Received, c.Media.Sent)
		}
	}
	ms := reCallEnded.FindAllStringSubmatch(g.log.String(), -1)
	if len(ms) != n {
		t.Fatalf("%d calls ended at the gateway, want %d", len(ms), n)
	}
	for _, m := range ms {
		if m[1] == "0" || m[2] == "0" {
			t.Errorf("call without RTP both ways through the relay: %s / %s", m[1], m[2])
		}
	}
}
