package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
)

// ctiDriver is one entry of GET /api/v1/cti/drivers.
type ctiDriver struct {
	Name         string   `json:"name"`
	Driver       string   `json:"driver"`
	State        string   `json:"state"`
	Process      string   `json:"process"`
	PID          int      `json:"pid"`
	Link         string   `json:"link"`
	Vendor       string   `json:"vendor"`
	Capabilities []string `json:"capabilities"`
	Monitors     int      `json:"monitors"`
	Restarts     uint64   `json:"restarts"`
}

func (g *gateway) ctiDrivers() []ctiDriver {
	g.t.Helper()
	code, body := g.api("GET", "/api/v1/cti/drivers")
	if code != 200 {
		g.t.Fatalf("GET /api/v1/cti/drivers: %d %s", code, body)
	}
	var out []ctiDriver
	if err := json.Unmarshal(body, &out); err != nil {
		g.t.Fatalf("cti drivers %s: %v", body, err)
	}
	return out
}

// waitCTI polls the status of the one driver until ok accepts it.
func (g *gateway) waitCTI(what string, ok func(ctiDriver) bool) ctiDriver {
	g.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ds := g.ctiDrivers()
		if len(ds) == 1 && ok(ds[0]) {
			return ds[0]
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("cti driver never %s: %+v", what, ds)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCTIDriverRestart runs the gateway with a Mitel CTI driver (the
// bundled one, `switchboard driver mitel` as a child process) against the
// lab simulator: the admin API shows the link up with the configured
// monitors; after the driver process is killed with SIGKILL it comes back
// with its monitors, and SIP keeps answering OPTIONS all along.
func TestCTIDriverRestart(t *testing.T) {
	t.Parallel()
	sim, err := labmitel.New(labmitel.Config{User: "csta", Password: "secret",
		Devices: []string{"201", "202", "203"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	g := startGateway(t, fmt.Sprintf(`cti:
  drivers:
    - name: pbx1
      driver: mitel
      config: {address: %q, user: csta, password: secret, reconnect_min: 50ms}
      monitor: ["201", "202", "203"]
`, sim.Addr()))

	d := g.waitCTI("up", func(d ctiDriver) bool { return d.State == "up" })
	if d.Name != "pbx1" || d.Driver != "mitel" || d.Monitors != 3 || d.PID == 0 || d.Link != "up" ||
		!slices.Contains(d.Capabilities, "make_call") || d.Vendor == "" {
		t.Fatalf("driver status %+v", d)
	}
	waitSimMonitors(t, sim, []string{"201", "202", "203"})

	// SIP OPTIONS every 50ms while the driver dies and comes back.
	c := dialSIP(t, "udp", "127.0.0.1", g.UDP)
	var answered, failed atomic.Int64
	var lastErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			c.send(c.request("OPTIONS", "sip:example.com", "u1000"))
			res, err := c.read(2 * time.Second)
			if err != nil || res.Status != 200 {
				failed.Add(1)
				lastErr.Store(fmt.Sprintf("%v %+v", err, res))
				continue
			}
			answered.Add(1)
		}
	})

	pid := d.PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	d = g.waitCTI("up again", func(d ctiDriver) bool { return d.State == "up" && d.PID != pid && d.PID != 0 })
	t.Logf("driver back in %s: %+v", time.Since(killed), d)
	if d.Restarts < 1 || d.Monitors != 3 {
		t.Fatalf("after kill -9: %+v", d)
	}
	waitSimMonitors(t, sim, []string{"201", "202", "203"})
	if sim.Sessions() < 2 {
		t.Fatalf("simulator sessions %d, want a second one", sim.Sessions())
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failed.Load() > 0 || answered.Load() == 0 {
		t.Fatalf("OPTIONS: %d answered, %d failed (last: %v)", answered.Load(), failed.Load(), lastErr.Load())
	}

	code, body := g.api("GET", "/metrics")
	if code != 200 || !containsAll(string(body), `switchboard_cti_driver_up{driver="pbx1"} 1`,
		`switchboard_cti_monitors{driver="pbx1"} 3`) || strings.Contains(string(body), `switchboard_cti_driver_restarts_total{driver="pbx1"} 0`) {
		t.Fatalf("metrics %d:\n%s", code, grepLines(string(body), "switchboard_cti_"))
	}
	g.requireAlive()
}

// TestCTIDriverKillLeavesCalls: a call through the B2BUA (phone → gateway
// → PBX, media relayed) is not touched while the CTI driver process is
// killed with SIGKILL and replaced: media keeps flowing both ways and
// neither side gets a BYE.
func TestCTIDriverKillLeavesCalls(t *testing.T) {
	t.Parallel()
	sim, err := labmitel.New(labmitel.Config{User: "csta", Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr)+fmt.Sprintf(`cti:
  drivers:
    - name: pbx1
      driver: mitel
      config: {address: %q, user: csta, password: secret}
      monitor: ["2000"]
`, sim.Addr()))
	d := g.waitCTI("up", func(d ctiDriver) bool { return d.State == "up" })

	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0, 8, 101))
	toPhone := sdpAddr(t, string(s.InviteResponse.Body()))
	fc := pbx.get("2000")
	both := func(when string) {
		t.Helper()
		if n := flows(t, fc.rtp, fc.relayAddr(), rtp, 0); n < 15 {
			t.Fatalf("%s: %d/20 packets PBX→phone", when, n)
		}
		if n := flows(t, rtp, toPhone, fc.rtp, 0); n < 15 {
			t.Fatalf("%s: %d/20 packets phone→PBX", when, n)
		}
	}
	both("before the kill")
	if err := syscall.Kill(d.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	both("right after the kill")
	g.waitCTI("up again", func(n ctiDriver) bool { return n.State == "up" && n.PID != d.PID && n.PID != 0 })
	both("after the driver came back")
	select {
	case id := <-ph.byes:
		t.Fatalf("the phone got a BYE (%s)", id)
	case user := <-pbx.byes:
		t.Fatalf("the PBX got a BYE (%s)", user)
	case <-s.Context().Done():
		t.Fatal("the phone's dialog ended")
	default:
	}
	if err := s.Bye(ctx); err != nil {
		t.Fatalf("hang up: %v", err)
	}
	g.requireAlive()
}

func waitSimMonitors(t *testing.T, sim *labmitel.Sim, want []string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Equal(sim.Monitors(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("simulator monitors %v, want %v", sim.Monitors(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
