package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// lookTool is requireTool that also looks in /usr/sbin (dnsmasq).
func lookTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath("/usr/sbin/" + name); err == nil {
		return p
	}
	return requireTool(t, name)
}

// startFailoverDnsmasq runs dnsmasq on 127.0.0.1:<free port>, no upstream,
// with opts (--srv-host, --host-record), and returns its address.
func startFailoverDnsmasq(t *testing.T, opts ...string) string {
	t.Helper()
	bin := lookTool(t, "dnsmasq")
	user := os.Getenv("USER")
	if os.Geteuid() == 0 || user == "" {
		user = "root"
	}
	for range 10 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		_, port, _ := net.SplitHostPort(addr)
		args := append([]string{
			"--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
			"--bind-interfaces", "--listen-address=127.0.0.1", "--port=" + port,
			"--pid-file=" + filepath.Join(t.TempDir(), "dnsmasq.pid"), "--user=" + user,
			"--local=/test/", "--log-facility=-",
		}, opts...)
		cmd := exec.Command(bin, args...)
		var out logBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		waited, err := startChild(cmd)
		if err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { <-waited; close(exited) }()
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			select {
			case <-exited:
			default:
				if c, err := net.Dial("tcp", addr); err == nil {
					c.Close()
					t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
					return addr
				}
				continue
			}
			break
		}
		_ = cmd.Process.Kill()
		<-exited
		t.Logf("dnsmasq did not start on %s: %s", addr, out.String())
	}
	t.Fatal("dnsmasq did not start")
	return ""
}

// failoverUAS is a SIPp UAS (lab/sipp/call_uas.xml) on ip:port that also
// answers the gateway's OPTIONS probes with 200 and appends one line to
// a file per INVITE it takes.
type failoverUAS struct {
	t        *testing.T
	ip       string
	port     int
	dir      string
	scenario string
	count    string // one line per INVITE received
	cmd      *exec.Cmd
	done     chan struct{}
	out      *logBuffer
}

// uasScenario derives from call_uas.xml a scenario whose first message may
// be an OPTIONS (answered 200, end of that "call") and which records each
// INVITE in countFile.
func uasScenario(t *testing.T, countFile string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sippDir(t), "call_uas.xml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	first := `<recv request="INVITE" crlf="true"/>`
	if !strings.Contains(s, first) {
		t.Fatalf("call_uas.xml changed: no %s", first)
	}
	tw := `<timewait milliseconds="2000"/>`
	if !strings.Contains(s, tw) {
		t.Fatalf("call_uas.xml changed: no %s", tw)
	}
	s = strings.Replace(s, first, `<recv request="OPTIONS" optional="true" next="options"/>
  <recv request="INVITE" crlf="true" next="invite">
    <action>
      <exec command="echo invite >> `+countFile+`"/>
    </action>
  </recv>
  <label id="options"/>
  <send next="end">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpOpt[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <label id="invite"/>`, 1)
	s = strings.Replace(s, tw, `<label id="end"/>
  `+tw, 1)
	return s
}

func newFailoverUAS(t *testing.T, ip string, port int) *failoverUAS {
	t.Helper()
	dir := t.TempDir()
	u := &failoverUAS{t: t, ip: ip, port: port, dir: dir, count: filepath.Join(dir, "invites.txt"), out: &logBuffer{},
		scenario: filepath.Join(dir, "uas.xml")}
	if err := os.WriteFile(u.scenario, []byte(uasScenario(t, u.count)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		u.kill()
		if t.Failed() {
			t.Logf("uas %s:%d output (tail):\n%s", ip, port, tail(u.out.String(), 1500))
		}
	})
	return u
}

// start runs SIPp; it must not be running.
func (u *failoverUAS) start() {
	t := u.t
	t.Helper()
	sipp := requireTool(t, "sipp")
	args := []string{"-sf", u.scenario, "-i", u.ip, "-p", strconv.Itoa(u.port),
		"-mp", strconv.Itoa(freeUDPPort(t, u.ip)), "-cp", strconv.Itoa(freeUDPPort(t, u.ip)),
		"-nostdin", "-rtp_echo"}
	u.out = &logBuffer{}
	cmd := exec.Command(sipp, args...)
	cmd.Dir = u.dir
	cmd.Stdout, cmd.Stderr = u.out, u.out
	waited, err := startChild(cmd)
	if err != nil {
		t.Fatal(err)
	}
	u.cmd, u.done = cmd, make(chan struct{})
	go func() { <-waited; close(u.done) }()
	// Ready when its SIP port is taken.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(u.ip, strconv.Itoa(u.port)))
		if err != nil {
			break
		}
		pc.Close()
		select {
		case <-u.done:
			t.Fatalf("sipp uas on %s:%d exited:\n%s", u.ip, u.port, u.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sipp uas on %s:%d not listening", u.ip, u.port)
		}
	}
	time.Sleep(100 * time.Millisecond)
}

// kill sends SIGKILL (no-op when not running) and waits for the exit.
func (u *failoverUAS) kill() {
	if u.cmd == nil {
		return
	}
	_ = u.cmd.Process.Signal(syscall.SIGKILL)
	<-u.done
	u.cmd = nil
}

// invites is the number of INVITEs this UAS has taken so far.
func (u *failoverUAS) invites() int {
	b, err := os.ReadFile(u.count)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "invite")
}

// settledInvites reads the INVITE counts of the UASes once they have not
// changed for 300 ms: SIPp's <exec command> runs its shell
// asynchronously, so a call's line may be appended after the call ended
// (bounded at 5 s).
func settledInvites(us ...*failoverUAS) []int {
	read := func() []int {
		n := make([]int, len(us))
		for i, u := range us {
			n[i] = u.invites()
		}
		return n
	}
	last, since := read(), time.Now()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		if n := read(); !slices.Equal(n, last) {
			last, since = n, time.Now()
		} else if time.Since(since) >= 300*time.Millisecond {
			break
		}
	}
	return last
}

// blackHole binds addr and reads forever without answering, until close.
func blackHoleUDP(t *testing.T, addr string) func() {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("black hole on %s: %v", addr, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return func() { pc.Close(); <-done }
}

// trunkStates returns addr → state of the trunk's targets.
func trunkStates(g *gateway, name string) map[string]string {
	g.t.Helper()
	code, body := g.api("GET", "/api/v1/trunks")
	if code != 200 {
		g.t.Fatalf("GET /api/v1/trunks: %d %s", code, body)
	}
	var ts []trunkView
	if err := json.Unmarshal(body, &ts); err != nil {
		g.t.Fatalf("trunks JSON: %v\n%s", err, body)
	}
	m := map[string]string{}
	for _, tr := range ts {
		if tr.Name == name {
			for _, tg := range tr.Targets {
				m[tg.Addr] = tg.Health.State
			}
		}
	}
	return m
}

// waitTrunkState waits until the target whose address ends in addr is in
// one of the states ("up", "up|unknown").
func waitTrunkState(t *testing.T, g *gateway, addr, state string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var got map[string]string
	for time.Now().Before(deadline) {
		got = trunkStates(g, "pbx")
		for a, s := range got {
			if strings.HasSuffix(a, addr) && strings.Contains("|"+state+"|", "|"+s+"|") {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("target %s not %s within %v: %v", addr, state, timeout, got)
}

// startUAC starts n SIPp calls (call_uac_auth.xml, 407 then
// authenticated) to 2000 through the gateway at rate calls/s; wait
// returns SIPp's output, its error and the failed-call count.
func startUAC(t *testing.T, target string, n, rate int) func() (string, error, int) {
	t.Helper()
	sipp := requireTool(t, "sipp")
	dir := t.TempDir()
	inf := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(inf, []byte("SEQUENTIAL\nu1000;[authentication username=u1000 password=secret]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tone := bytes.Repeat([]byte{0x7f, 0xff, 0x7f, 0x00}, 2000)
	if err := os.WriteFile(filepath.Join(dir, "tone.ulaw"), tone, 0o600); err != nil {
		t.Fatal(err)
	}
	port, media, ctrl := freeSIPpPorts(t)
	args := []string{"-sf", filepath.Join(sippDir(t), "call_uac_auth.xml"), "-inf", inf, target, "-s", "2000",
		"-auth_uri", "2000@example.com", // digest uri = Request-URI (RFC 3261 §22.4)
		"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mp", strconv.Itoa(media), "-cp", strconv.Itoa(ctrl),
		"-m", strconv.Itoa(n), "-r", strconv.Itoa(rate), "-l", "20", "-d", "300",
		"-nostdin", "-timeout", "30s", "-timeout_error", "-trace_err", "-trace_stat", "-fd", "1"}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	cmd := exec.CommandContext(ctx, sipp, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	waited, err := startChild(cmd)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	return func() (string, error, int) {
		defer cancel()
		err := <-waited
		if err != nil {
			errs, _ := filepath.Glob(filepath.Join(dir, "*_errors.log"))
			for _, f := range errs {
				b, _ := os.ReadFile(f)
				out.WriteString("\nerrors log:\n" + tail(string(b), 3000))
			}
		}
		return out.String(), err, sippFailed(out.String())
	}
}

// sippFailed reads the cumulative "Failed call" count of SIPp's final
// screen (-1 when absent).
func sippFailed(out string) int {
	i := strings.LastIndex(out, "Failed call")
	if i < 0 {
		return -1
	}
	f := strings.Split(strings.SplitN(out[i:], "\n", 2)[0], "|")
	if len(f) < 3 {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(f[2]))
	if err != nil {
		return -1
	}
	return n
}

// TestFailoverDNS: dnsmasq publishes _sip._udp.pbx.example.test with a
// primary (priority 10, 127.0.0.2) and a secondary (priority 20,
// 127.0.0.3), both SIPp UAS; the gateway's trunk targets the FQDN. Calls
// go to the primary while it is up, to the secondary while it is stopped,
// black-holed or killed mid-test, and back to the primary once a probe has
// seen it answer again.
func TestFailoverDNS(t *testing.T) {
	requireTool(t, "sipp")
	lookTool(t, "dnsmasq")
	port := 0
	for range 50 {
		p := freeUDPPort(t, "127.0.0.2")
		if pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.3:%d", p)); err == nil {
			pc.Close()
			port = p
			break
		}
	}
	if port == 0 {
		t.Fatal("no UDP port free on both 127.0.0.2 and 127.0.0.3")
	}
	dns := startFailoverDnsmasq(t,
		fmt.Sprintf("--srv-host=_sip._udp.pbx.example.test,primary.pbx.example.test,%d,10,0", port),
		fmt.Sprintf("--srv-host=_sip._udp.pbx.example.test,secondary.pbx.example.test,%d,20,0", port),
		"--host-record=primary.pbx.example.test,127.0.0.2",
		"--host-record=secondary.pbx.example.test,127.0.0.3",
	)
	primaryAddr := fmt.Sprintf("127.0.0.2:%d", port)
	primary := newFailoverUAS(t, "127.0.0.2", port)
	secondary := newFailoverUAS(t, "127.0.0.3", port)
	primary.start()
	secondary.start()

	g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
security: {trusted_callers: [127.0.0.0/8], exempt_sources: [127.0.0.0/8]}
dns: {servers: [%s], ipv6: false}
trunks:
  - name: pbx
    target: sip:pbx.example.test;transport=udp
    match: ["2000"]
    failover_timeout: 1s # a loaded machine's SIPp may take over 500 ms to send its 100
    probe: {interval: 500ms, timeout: 400ms, mode: down}
`, dns))
	waitTrunkState(t, g, primaryAddr, "up|unknown", 5*time.Second) // resolved, not down

	const n = 3
	// calls places n calls and requires that all complete and that the
	// primary and the secondary took wantP and wantS of them.
	calls := func(t *testing.T, wantP, wantS int) {
		t.Helper()
		n0 := settledInvites(primary, secondary)
		out, err, failed := startUAC(t, g.UDP, n, 10)()
		if err != nil || failed != 0 {
			t.Fatalf("sipp uac: %v, %d failed\n%s\ngateway:\n%s", err, failed, tail(out, 3000), tail(g.log.String(), 3000))
		}
		n1 := settledInvites(primary, secondary)
		if p, s := n1[0]-n0[0], n1[1]-n0[1]; p != wantP || s != wantS {
			t.Fatalf("primary took %d calls, secondary %d; want %d and %d", p, s, wantP, wantS)
		}
	}
	// primaryBack restarts the primary and waits for the probe to mark it
	// up. First it waits until the gateway has found it down (the probes
	// its failed-over calls asked for): the state read before that is the
	// stale "up" of before the outage, and a probe that times out after
	// the restart would mark the primary down under the next step's calls
	// (CI: one call then went to the secondary too).
	primaryBack := func(t *testing.T) {
		t.Helper()
		waitTrunkState(t, g, primaryAddr, "down", 10*time.Second)
		primary.start()
		waitTrunkState(t, g, primaryAddr, "up", 5*time.Second)
	}

	steps := []struct {
		name string
		f    func(t *testing.T)
	}{
		{"a_both_up", func(t *testing.T) { calls(t, n, 0) }},
		{"b_primary_stopped", func(t *testing.T) {
			primary.kill()
			calls(t, 0, n)
		}},
		{"e_primary_back_after_stop", func(t *testing.T) {
			primaryBack(t)
			calls(t, n, 0)
		}},
		{"c_primary_blackholed", func(t *testing.T) {
			primary.kill()
			closeHole := blackHoleUDP(t, primaryAddr)
			calls(t, 0, n)
			closeHole()
		}},
		{"e_primary_back_after_blackhole", func(t *testing.T) {
			primaryBack(t)
			calls(t, n, 0)
		}},
		{"d_primary_killed_mid_test", func(t *testing.T) {
			const m = 10
			n0 := settledInvites(primary, secondary)
			wait := startUAC(t, g.UDP, m, 5) // one call every 200 ms
			time.Sleep(900 * time.Millisecond)
			primary.kill()
			out, err, failed := wait()
			n1 := settledInvites(primary, secondary)
			p, s := n1[0]-n0[0], n1[1]-n0[1]
			t.Logf("primary killed mid-test: primary took %d calls, secondary %d, %d failed", p, s, failed)
			if err != nil || failed != 0 {
				t.Fatalf("sipp uac: %v, %d failed\n%s\ngateway:\n%s", err, failed, tail(out, 3000), tail(g.log.String(), 3000))
			}
			// A call whose INVITE reached the primary just before it died
			// is failed over to the secondary (RFC 3263 §4.3): it counts at
			// both, so the two may hold more than m INVITEs between them.
			if p == 0 || s == 0 || p+s < m || p+s > m+2 {
				t.Fatalf("primary took %d calls, secondary %d; want both > 0, %d in all (up to 2 counted at both)", p, s, m)
			}
		}},
		{"e_primary_back_after_kill", func(t *testing.T) {
			primaryBack(t)
			calls(t, n, 0)
		}},
	}
	for _, st := range steps {
		if !t.Run(st.name, st.f) {
			return
		}
	}
	g.requireAlive()
}
