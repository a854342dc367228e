package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// callsConfig routes 2000 to a trunk at the SIPp UAS on 127.0.0.2:port.
// SIPp 3.6 answers only the first challenge and knows MD5 only.
func callsConfig(uasPort int) string {
	return fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
security: {trusted_callers: [127.0.0.0/8], exempt_sources: [127.0.0.0/8]}
trunks:
  - name: pbx
    target: sip:127.0.0.2:%d
    probe: {interval: 0s}
    match: ["2000"]
`, uasPort)
}

// freeUDPPort returns a UDP port free on host.
//
// The port comes from 20000–29999, below the kernel's ephemeral range
// (32768–60999) and apart from the relay's default range (40000–49999)
// and freeMediaRange's (10000–19999): a port handed out by bind(0) and
// released is the next ephemeral port of any socket on the machine, and
// the clean-clone CI run at 00:22 UTC lost TestFailoverDNS to that (SIPp
// "Unable to bind main socket, errno 98" on a port found free a moment
// before, while other packages' gateways opened sockets beside it).
func freeUDPPort(t *testing.T, host string) int {
	t.Helper()
	var err error
	for range 200 {
		p := 20000 + rand.IntN(10000)
		var pc net.PacketConn
		if pc, err = net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(p))); err == nil {
			_ = pc.Close()
			return p
		}
	}
	t.Skipf("cannot bind %s: %v", host, err)
	return 0
}

// startUAS runs a SIPp UAS scenario on 127.0.0.2:port until the test ends.
func startUAS(t *testing.T, scenario string, port int, extra ...string) {
	t.Helper()
	sipp := requireTool(t, "sipp")
	dir := t.TempDir()
	args := append([]string{"-sf", filepath.Join(sippDir(t), scenario), "-i", "127.0.0.2",
		"-p", strconv.Itoa(port), "-mp", strconv.Itoa(freeUDPPort(t, "127.0.0.2")),
		"-cp", strconv.Itoa(freeUDPPort(t, "127.0.0.2")), "-nostdin"}, extra...)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, sipp, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done, err := startChild(cmd)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("uas %s output (tail):\n%s", scenario, tail(out.String(), 1500))
		}
	})
	waitBound(t, "127.0.0.2", port, done)
}

// runUAC runs a SIPp UAC scenario of n calls to number through the gateway
// and returns SIPp's exit error and output.
func runUAC(t *testing.T, scenario, target, number string, n int) (string, error) {
	t.Helper()
	sipp := requireTool(t, "sipp")
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("SEQUENTIAL\n")
	fmt.Fprintf(&csv, "u1000;[authentication username=u1000 password=secret]\n")
	inf := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(inf, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// 1 s of μ-law silence-ish tone for <exec rtp_stream>.
	tone := bytes.Repeat([]byte{0x7f, 0xff, 0x7f, 0x00}, 2000)
	if err := os.WriteFile(filepath.Join(dir, "tone.ulaw"), tone, 0o600); err != nil {
		t.Fatal(err)
	}
	port, media, ctrl := freeSIPpPorts(t)
	args := []string{"-sf", filepath.Join(sippDir(t), scenario), "-inf", inf, target, "-s", number,
		"-auth_uri", number + "@example.com", // digest uri = Request-URI (RFC 3261 §22.4)
		"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mp", strconv.Itoa(media), "-cp", strconv.Itoa(ctrl),
		"-m", strconv.Itoa(n), "-r", "20", "-l", "20", "-d", "500",
		"-nostdin", "-timeout", "60s", "-timeout_error", "-trace_err"}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sipp, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := runChild(cmd)
	if err != nil {
		errs, _ := filepath.Glob(filepath.Join(dir, "*_errors.log"))
		for _, f := range errs {
			b, _ := os.ReadFile(f)
			out.WriteString("\nerrors log:\n" + tail(string(b), 3000))
		}
	}
	return out.String(), err
}

var reCallEnded = regexp.MustCompile(`msg="call ended".* rtp_a=(\d+) rtp_b=(\d+)`)

// TestCallsThroughTrunk: SIPp UAC (407, then authenticated) → gateway →
// SIPp UAS answering with 180 and 200 and echoing RTP; every call
// completes, BYE from the caller ends both legs, and RTP flows both ways
// through the relay.
func TestCallsThroughTrunk(t *testing.T) {
	uasPort := freeUDPPort(t, "127.0.0.2")
	startUAS(t, "call_uas.xml", uasPort, "-rtp_echo")
	g := startGateway(t, callsConfig(uasPort))
	const n = 10
	if out, err := runUAC(t, "call_uac_auth.xml", g.UDP, "2000", n); err != nil {
		t.Fatalf("sipp uac: %v\n%s\ngateway:\n%s", err, tail(out, 3000), tail(g.log.String(), 3000))
	}
	deadline := time.Now().Add(5 * time.Second)
	var ms [][]string
	for time.Now().Before(deadline) {
		if ms = reCallEnded.FindAllStringSubmatch(g.log.String(), -1); len(ms) >= n {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(ms) != n {
		t.Fatalf("%d calls ended, want %d\n%s", len(ms), n, tail(g.log.String(), 3000))
	}
	for _, m := range ms {
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		if a == 0 || b == 0 {
			t.Errorf("call without RTP both ways: caller→pbx %d, pbx→caller %d packets", a, b)
		}
	}
}

// TestCallBusy: the trunk answers 486, the caller gets 486.
func TestCallBusy(t *testing.T) {
	uasPort := freeUDPPort(t, "127.0.0.2")
	startUAS(t, "call_uas_busy.xml", uasPort)
	g := startGateway(t, callsConfig(uasPort))
	if out, err := runUAC(t, "call_uac_busy.xml", g.UDP, "2000", 3); err != nil {
		t.Fatalf("sipp uac: %v\n%s\ngateway:\n%s", err, tail(out, 3000), tail(g.log.String(), 3000))
	}
}
