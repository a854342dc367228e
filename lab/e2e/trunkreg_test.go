package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/lab/pbx"
)

func startPBX(t *testing.T, o pbx.Options) *pbx.Sim {
	t.Helper()
	s, err := pbx.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTrunkRegistration: the real binary registers to the lab PBX with
// SHA-256 digest, shows it in /api/v1/trunks and /metrics, and removes
// the binding (Expires: 0) when it stops.
func TestTrunkRegistration(t *testing.T) {
	sim := startPBX(t, pbx.Options{Realm: "pbx.lab", Users: map[string]string{"sb-trunk": "trunk-pw"}})
	g := startGateway(t, fmt.Sprintf(`trunks:
  - name: pbx
    target: sip:%s
    probe: {interval: 0s}
    register: {user: sb-trunk, password: trunk-pw, domain: pbx.lab, expires: 60, contact_user: gw1}
`, sim.Addr()))

	var reg pbx.Registration
	waitUntil(t, 10*time.Second, "REGISTER at the PBX", func() bool {
		rs := sim.Registrations()
		if len(rs) == 1 && rs[0].Active(time.Now()) {
			reg = rs[0]
			return true
		}
		return false
	})
	_, gwPort, _ := net.SplitHostPort(g.UDP)
	if reg.AOR != "sb-trunk@pbx.lab" || reg.User != "sb-trunk" || reg.Algorithm != "SHA-256" || reg.Expires != 60 ||
		!strings.HasPrefix(reg.Contact, "sip:gw1@127.0.0.1:"+gwPort) {
		t.Errorf("PBX saw %+v (gateway udp %s)", reg, g.UDP)
	}

	code, body := g.api("GET", "/api/v1/trunks")
	var trunks []struct {
		Name         string `json:"name"`
		Registration *struct {
			State  string `json:"state"`
			Target string `json:"target"`
		} `json:"registration"`
	}
	if err := json.Unmarshal(body, &trunks); code != 200 || err != nil {
		t.Fatalf("GET /api/v1/trunks = %d %v: %s", code, err, body)
	}
	if len(trunks) != 1 || trunks[0].Registration == nil || trunks[0].Registration.State != "registered" ||
		trunks[0].Registration.Target != "udp:"+sim.Addr().String() {
		t.Errorf("trunks: %s", body)
	}
	_, metrics := g.api("GET", "/metrics")
	if !regexp.MustCompile(`(?m)^switchboard_trunk_registered\{trunk="pbx"\} 1$`).Match(metrics) {
		t.Errorf("metric switchboard_trunk_registered{trunk=\"pbx\"} is not 1")
	}

	g.requireCleanStop()
	if r := sim.Registrations()[0]; r.Expires != 0 || r.Active(time.Now()) {
		t.Errorf("after shutdown the PBX holds %+v, want it unregistered", r)
	}
}

// TestTrunkRegistrationWrongPassword: a refused registration is reported,
// and the gateway keeps running.
func TestTrunkRegistrationWrongPassword(t *testing.T) {
	sim := startPBX(t, pbx.Options{Realm: "pbx.lab", Users: map[string]string{"sb-trunk": "right"}})
	g := startGateway(t, fmt.Sprintf(`trunks:
  - name: pbx
    target: sip:%s
    probe: {interval: 0s}
    register: {user: sb-trunk, password: wrong}
`, sim.Addr()))
	waitUntil(t, 10*time.Second, "a failed registration", func() bool {
		_, body := g.api("GET", "/api/v1/trunks")
		return strings.Contains(string(body), `"state": "failed"`) && strings.Contains(string(body), `"last_status": 403`)
	})
	if len(sim.Registrations()) != 0 {
		t.Error("PBX accepted a wrong password")
	}
	g.requireAlive()
}

// TestCallRecord places a call from a registered phone through the
// gateway to the lab PBX (answering with the tone) and reads its record
// from the call history.
func TestCallRecord(t *testing.T) {
	sim := startPBX(t, pbx.Options{Numbers: map[string]pbx.Number{"2000": {Action: pbx.Answer, Media: pbx.Tone}}})
	g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
trunks:
  - name: pbx
    target: sip:%s
    probe: {interval: 0s}
    match: ["2000"]
`, sim.Addr()))
	ph := newPhone(t)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	s, err := call(ctx, ph, g.UDP, "2000", phoneSDP)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitAnswer(ctx, answerOpts()); err != nil {
		t.Fatalf("call: %v\n%s", err, g.log.String())
	}
	if err := s.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // some tone through the relay
	if err := s.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Caller    string `json:"caller"`
		Callee    string `json:"callee"`
		Trunk     string `json:"trunk"`
		Direction string `json:"direction"`
		Status    int    `json:"status"`
		Cause     string `json:"cause"`
		EndedBy   string `json:"ended_by"`
		MediaB    struct {
			Packets uint64 `json:"packets"`
		} `json:"media_b"`
	}
	waitUntil(t, 10*time.Second, "the call record", func() bool {
		_, body := g.api("GET", "/api/v1/history?user=u1000")
		var p struct {
			Calls []json.RawMessage `json:"calls"`
		}
		if json.Unmarshal(body, &p) != nil || len(p.Calls) == 0 {
			return false
		}
		return json.Unmarshal(p.Calls[0], &rec) == nil
	})
	if rec.Caller != "u1000" || rec.Callee != "2000" || rec.Trunk != "pbx" || rec.Direction != "outbound" || rec.Status != 200 {
		t.Errorf("record %+v", rec)
	}
	if rec.MediaB.Packets == 0 {
		t.Errorf("record has no RTP from the PBX side: %+v", rec)
	}
	if got := g.metric("switchboard_call_records_written_total"); got < 1 {
		t.Errorf("records written = %v", got)
	}
	if in := sim.Calls(); len(in) != 1 || !in[0].Answered || in[0].Media.Sent == 0 {
		t.Errorf("PBX saw %+v", in)
	}
	_ = strconv.Itoa
}

// TestInboundToRegisteredContact: a PBX the gateway registers to sends
// its calls to the registered Contact (sip:gw1@gateway), naming the callee
// in To; the gateway rings the device of that extension.
func TestInboundToRegisteredContact(t *testing.T) {
	sim := startPBX(t, pbx.Options{Realm: "pbx.lab", Users: map[string]string{"sb-trunk": "trunk-pw"}})
	g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
trunks:
  - name: pbx
    target: sip:%s
    probe: {interval: 0s}
    register: {user: sb-trunk, password: trunk-pw, domain: pbx.lab, expires: 60, contact_user: gw1}
users:
  - {username: u1001, password: secret, extension: "1001"}
`, sim.Addr()))
	var reg pbx.Registration
	waitUntil(t, 10*time.Second, "REGISTER at the PBX", func() bool {
		rs := sim.Registrations()
		if len(rs) == 1 && rs[0].Active(time.Now()) {
			reg = rs[0]
			return true
		}
		return false
	})
	phone := newRawPhone(t, g, "u1001", phoneMode{answer: 100 * time.Millisecond})

	var target sip.Uri
	if err := sip.ParseUri(reg.Contact, &target); err != nil {
		t.Fatalf("registered contact %q: %v", reg.Contact, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	oc, err := sim.Call(ctx, pbx.CallOptions{Target: target, To: "1001", From: "5551234"})
	if err != nil {
		t.Fatalf("PBX call to %s with To 1001: %v\n%s", reg.Contact, err, g.log.String())
	}
	inv := phone.wait(5*time.Second, "INVITE", isMethod("INVITE"))
	if !strings.Contains(inv.get("From"), "5551234@") {
		t.Errorf("device sees From %q", inv.get("From"))
	}
	if err := oc.Hangup(ctx); err != nil {
		t.Errorf("hangup: %v", err)
	}
	phone.wait(5*time.Second, "BYE", isMethod("BYE"))
}
