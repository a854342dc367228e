package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	labavaya "github.com/switchboard-gw/switchboard/lab/avaya"
)

// TestAttendantSafeTransferAvaya: the same safe transfer through the
// Avaya DMCC driver (SingleStepTransferCall, then DeflectCall back).
func TestAttendantSafeTransferAvaya(t *testing.T) {
	t.Parallel()
	sim, err := labavaya.New(labavaya.Config{User: "cti", Password: "secret", Devices: []string{"301", "302", "303"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	g := startGateway(t, fmt.Sprintf(`cti:
  drivers:
    - name: avaya1
      driver: avaya
      config: {address: %q, user: cti, password: secret, switch_name: CM1, reconnect_min: 50ms}
      monitor: ["301", "302", "303"]
attendant: {console_link: {tls: ""}, safe_transfer: 1s}
`, sim.Addr()))
	for _, id := range []string{"avaya1:301", "avaya1:302", "avaya1:303"} {
		g.waitDevice(id, "idle and fresh", func(d attDevice) bool { return d.Line == "idle" && !d.Stale })
	}
	ev := g.events("")
	ev.next()
	if code, body := g.apiJSON("POST", "/api/v1/calls", `{"from":"avaya1:301","to":"302"}`); code != http.StatusCreated {
		t.Fatalf("make call: %d %s", code, body)
	}
	ring := ev.until("302 ringing", lineIs("avaya1:302", "ringing"))
	call := ring.Device.Calls[0].CallID
	if code, body := g.apiJSON("POST", "/api/v1/calls/"+call+"/answer", `{"device":"avaya1:302"}`); code != http.StatusNoContent {
		t.Fatalf("answer: %d %s", code, body)
	}
	ev.until("302 busy", lineIs("avaya1:302", "busy"))
	code, body := g.apiJSON("POST", "/api/v1/calls/"+call+"/transfer", `{"device":"avaya1:302","to":"303"}`)
	if code != http.StatusOK {
		t.Fatalf("transfer: %d %s", code, body)
	}
	ev.until("303 ringing", lineIs("avaya1:303", "ringing"))
	transferred := time.Now()
	ev.all("recall, 302 ringing again", isType("recall"), lineIs("avaya1:302", "ringing"))
	t.Logf("recalled after %s", time.Since(transferred))
	g.waitDevice("avaya1:303", "idle after the recall", func(d attDevice) bool { return d.Line == "idle" })
}
