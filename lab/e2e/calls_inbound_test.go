package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Calls from the PBX in, diversion to its voicemail pilot, and reliable
// provisional responses, with SIPp on both sides.

// sippProc is one SIPp process running a scenario in the background.
type sippProc struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	dir  string
	done chan error
}

// startSIPp runs SIPp with scenario on host:port (-m calls) until it ends
// or the test does.
func startSIPp(t *testing.T, scenario, host string, port int, args ...string) *sippProc {
	t.Helper()
	sipp := requireTool(t, "sipp")
	r := &sippProc{dir: t.TempDir(), done: make(chan error, 1)}
	all := append([]string{"-sf", filepath.Join(sippDir(t), scenario), "-i", host, "-p", strconv.Itoa(port),
		"-mp", strconv.Itoa(freeUDPPort(t, host)), "-cp", strconv.Itoa(freeUDPPort(t, host)),
		"-nostdin", "-timeout", "30s", "-timeout_error", "-trace_err"}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	r.cmd = exec.CommandContext(ctx, sipp, all...)
	r.cmd.Dir = r.dir
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	done, err := startChild(r.cmd)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { r.done <- <-done }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			r.done <- err
		case <-time.After(5 * time.Second):
		}
		if t.Failed() {
			t.Logf("sipp %s output (tail):\n%s", scenario, tail(r.out.String()+r.errors(), 3000))
		}
	})
	waitBound(t, host, port, r.done)
	return r
}

func (r *sippProc) errors() string {
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(r.dir, "*_errors.log"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		b.WriteString("\nerrors log:\n" + tail(string(data), 2000))
	}
	return b.String()
}

// wait requires SIPp to exit 0 (every call passed its checks) within
// timeout.
func (r *sippProc) wait(t *testing.T, timeout time.Duration, g *gateway) {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		if err != nil {
			t.Fatalf("sipp: %v\n%s\ngateway:\n%s", err, tail(r.out.String()+r.errors(), 3000), tail(g.log.String(), 3000))
		}
	case <-time.After(timeout):
		t.Fatalf("sipp still running after %v\ngateway:\n%s", timeout, tail(g.log.String(), 3000))
	}
}

// inboundConfig has u1001 (extension 1001) and a trunk at the PBX
// address 127.0.0.2 with the voicemail pilot 8000 behind it.
func inboundConfig(pbxPort int, extra string) string {
	return fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
trunks:
  - name: pbx
    target: sip:127.0.0.2:%d
    probe: {interval: 0s}
    match: ["8000", "2000"]
users:
  - {username: u1000, password: secret, extension: "1000"}
  - {username: u1001, password: secret, extension: "1001"%s}
`, pbxPort, extra)
}

// TestInboundFromTrunk: the PBX (SIPp UAC on the trunk's address) calls
// extension 1001 without credentials; the gateway rings the registered
// device, which answers; the call completes. The same INVITE from an
// address that is no trunk gets 407.
func TestInboundFromTrunk(t *testing.T) {
	pbxPort := freeUDPPort(t, "127.0.0.2")
	g := startGateway(t, inboundConfig(pbxPort, ""))
	phone := newRawPhone(t, g, "u1001", phoneMode{answer: 200 * time.Millisecond})
	uac := startSIPp(t, "call_uac_inbound.xml", "127.0.0.2", pbxPort, g.UDP, "-s", "1001", "-m", "1", "-d", "300")
	uac.wait(t, 20*time.Second, g)
	phone.wait(5*time.Second, "BYE", isMethod("BYE"))
	inv := phone.wait(time.Second, "INVITE", isMethod("INVITE"))
	if from := inv.get("From"); !strings.Contains(from, "5551234@") {
		t.Errorf("the device sees From %q, want the PBX caller 5551234", from)
	}
	r := waitCDR(t, g, "u1001")
	if r.Direction != "inbound" || r.Trunk != "pbx" || r.Caller != "5551234" || r.Status != 200 {
		t.Errorf("CDR %+v", r)
	}

	// Not a trunk address: proxy authentication as for anybody.
	c := dialSIP(t, "udp", "127.0.0.3", g.UDP)
	res := c.roundTrip(c.request("INVITE", "sip:1001@example.com", "5551234", "Contact: <sip:5551234@127.0.0.3>"))
	if res.Status != 407 {
		t.Errorf("INVITE from 127.0.0.3: %d %s, want 407", res.Status, res.Reason)
	}
}

// TestInboundReliableProvisional: the PBX requires 100rel; the gateway's
// 180 carries Require: 100rel and RSeq, the PBX's PRACK is answered 200
// and the call is answered after it (RFC 3262 §3).
func TestInboundReliableProvisional(t *testing.T) {
	pbxPort := freeUDPPort(t, "127.0.0.2")
	g := startGateway(t, inboundConfig(pbxPort, ""))
	newRawPhone(t, g, "u1001", phoneMode{answer: 300 * time.Millisecond})
	uac := startSIPp(t, "call_uac_inbound_100rel.xml", "127.0.0.2", pbxPort, g.UDP, "-s", "1001", "-m", "1", "-d", "200")
	uac.wait(t, 20*time.Second, g)
}

// TestOutboundPRACK: the callee (SIPp on the trunk) rings with a reliable
// 180; the gateway PRACKs it (RAck) and the call completes.
func TestOutboundPRACK(t *testing.T) {
	pbxPort := freeUDPPort(t, "127.0.0.2")
	uas := startSIPp(t, "call_uas_100rel.xml", "127.0.0.2", pbxPort, "-m", "1")
	g := startGateway(t, inboundConfig(pbxPort, ""))
	if code := placeCall(t, g, "2000", 200*time.Millisecond); code != 200 {
		t.Fatalf("caller got %d, want 200", code)
	}
	uas.wait(t, 20*time.Second, g)
}

// TestDivert: u1001 diverts to the voicemail pilot 8000 on the PBX on
// busy and on no answer; the pilot (SIPp) checks the Diversion and
// History-Info headers and answers.
func TestDivert(t *testing.T) {
	divert := `, divert: {busy: "8000", no_answer: "8000", no_answer_timeout: 1s}`
	t.Run("busy", func(t *testing.T) {
		pbxPort := freeUDPPort(t, "127.0.0.2")
		vm := startSIPp(t, "divert_uas.xml", "127.0.0.2", pbxPort, "-m", "1")
		g := startGateway(t, inboundConfig(pbxPort, divert))
		newRawPhone(t, g, "u1001", phoneMode{busy: true})
		if code := placeCall(t, g, "1001", 200*time.Millisecond); code != 200 {
			t.Fatalf("caller got %d, want 200 from the voicemail", code)
		}
		vm.wait(t, 20*time.Second, g)
		r := waitCDR(t, g, "u1000")
		if r.DivertedTo != "8000" || r.Trunk != "pbx" || r.Status != 200 {
			t.Errorf("CDR %+v", r)
		}
	})
	t.Run("no answer", func(t *testing.T) {
		pbxPort := freeUDPPort(t, "127.0.0.2")
		vm := startSIPp(t, "divert_uas.xml", "127.0.0.2", pbxPort, "-m", "1")
		g := startGateway(t, inboundConfig(pbxPort, divert))
		phone := newRawPhone(t, g, "u1001", phoneMode{})
		if code := placeCall(t, g, "1001", 200*time.Millisecond); code != 200 {
			t.Fatalf("caller got %d, want 200 from the voicemail", code)
		}
		phone.wait(5*time.Second, "CANCEL", isMethod("CANCEL"))
		vm.wait(t, 20*time.Second, g)
	})
}
