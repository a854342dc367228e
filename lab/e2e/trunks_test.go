package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"testing"
	"time"
)

type trunkView struct {
	Name    string `json:"name"`
	Targets []struct {
		Addr   string `json:"Addr"`
		Health struct {
			State string `json:"state"`
		} `json:"health"`
	} `json:"targets"`
}

// TestTrunkProbing runs the OPTIONS health probes of dnssrv through the
// gateway's own SIP stack (the user agent whose UDP socket also carries the
// stateless REGISTER path): a trunk towards another gateway, which answers
// OPTIONS, is up; a trunk towards a port nobody answers on is down. Both are
// visible in /api/v1/trunks.
func TestTrunkProbing(t *testing.T) {
	pbx := startGateway(t, "")
	dead, err := net.ListenPacket("udp", "127.0.0.1:0") // reads nothing, answers nothing
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	g := startGateway(t, fmt.Sprintf(`trunks:
  - name: pbx
    target: "sip:%s;transport=udp"
    failover_timeout: 200ms
    probe: {interval: 1s, mode: all}
  - name: dead
    target: "sip:%s;transport=udp"
    failover_timeout: 200ms
    probe: {interval: 1s, mode: all}
`, pbx.UDP, dead.LocalAddr().String()))

	deadline := time.Now().Add(15 * time.Second)
	var got map[string]string
	for time.Now().Before(deadline) {
		code, body := g.api("GET", "/api/v1/trunks")
		if code != 200 {
			t.Fatalf("GET /api/v1/trunks: %d %s", code, body)
		}
		var ts []trunkView
		if err := json.Unmarshal(body, &ts); err != nil {
			t.Fatalf("trunks JSON: %v\n%s", err, body)
		}
		got = map[string]string{}
		for _, tr := range ts {
			for _, tg := range tr.Targets {
				got[tr.Name] = tg.Health.State
			}
		}
		if got["pbx"] == "up" && got["dead"] == "down" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("trunk health = %v, want pbx up and dead down", got)
}
