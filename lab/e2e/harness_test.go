package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binPath is the switchboard binary TestMain builds (without -race: the
// process under test runs at production speed).
var binPath string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "switchboard-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if bin := os.Getenv(envReuseBinary); bin != "" {
		binPath = bin // a sub-process of TestHarnessChildrenDieWithIt
		return m.Run()
	}
	binPath = filepath.Join(dir, "switchboard")
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	build := exec.Command("go", "build", "-o", binPath, "./cmd/switchboard")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building switchboard:", err)
		return 1
	}
	return m.Run()
}

// startChild starts cmd so that it dies with this test binary, even when
// the binary is killed (kill -9, go test's -timeout, a CI job cancelled):
// an orphaned gateway, SIPp or baresip keeps its ports and CPU and can
// disturb the next run. The kernel sends the child SIGKILL when the OS
// thread that forked it exits (dieWithParent), not when the process does,
// and the Go runtime ends a thread when a goroutine locked to it returns
// (go.dev/issue/27505). So the child is started, and waited for, on a
// goroutine locked to its thread for the child's whole life: that thread
// ends only with the child or with the test binary. The channel receives
// cmd.Wait's error once (buffered: a reader may put it back for others).
func startChild(cmd *exec.Cmd) (chan error, error) {
	dieWithParent(cmd)
	started := make(chan error, 1)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		done <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return done, nil
}

// runChild is cmd.Run through startChild.
func runChild(cmd *exec.Cmd) error {
	done, err := startChild(cmd)
	if err != nil {
		return err
	}
	return <-done
}

// combinedOutputChild is cmd.CombinedOutput through startChild.
func combinedOutputChild(cmd *exec.Cmd) ([]byte, error) {
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := runChild(cmd)
	return b.Bytes(), err
}

// outputChild is cmd.Output through startChild: stdout, and stderr in
// the error when the command fails.
func outputChild(cmd *exec.Cmd) ([]byte, error) {
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := runChild(cmd)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ee.Stderr = errb.Bytes()
	}
	return out.Bytes(), err
}

// waitBound waits until a process binds host:port over UDP or TCP (SIPp's
// -p port): a fixed pause before sending to it was too short on a loaded
// machine, and a request sent before the bind is lost. It looks at the
// kernel's socket tables, not by binding the port itself, which could make
// the process's own bind fail. It gives up after 20 s, or when exited (a
// child's Wait channel, read and put back) says the process ended: a SIPp
// UAC may be done before the first look.
func waitBound(t *testing.T, host string, port int, exited chan error) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !bound(host, port); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-exited:
			exited <- err
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing bound %s:%d within 20 s", host, port)
		}
	}
}

// bound reports whether a UDP socket, or a listening TCP one, is bound to
// port on the IPv4 address host or on every address (/proc/net/udp and
// /proc/net/tcp: local_address is the address in host byte order and the
// port, in hex).
func bound(host string, port int) bool {
	ip := net.ParseIP(host).To4()
	if ip == nil {
		return false
	}
	want := map[string]bool{
		fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], port): true,
		fmt.Sprintf("00000000:%04X", port):                                     true,
	}
	for _, f := range []string{"/proc/net/udp", "/proc/net/tcp"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 4 || !want[fs[1]] {
				continue
			}
			if f == "/proc/net/udp" || fs[3] == "0A" { // 0A: TCP_LISTEN
				return true
			}
		}
	}
	return false
}

// repoRoot is the module root, two levels above this package.
func repoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate the source directory")
	}
	return filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
}

// sippDir is lab/sipp, where the SIPp scenarios live.
func sippDir(t *testing.T) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "lab", "sipp")
}

// requireTool returns the path of an external tool. Missing, it fails the
// test on CI (CI=true) and skips it elsewhere.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found: make deps-test installs it", name)
	}
	t.Skipf("%s not found (make deps-test installs it)", name)
	return ""
}

// logBuffer keeps a process's stderr; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// gateway is one switchboard configuration and the process serving it.
// restart and kill9 keep the config and data_dir.
type gateway struct {
	t       *testing.T
	dir     string // t.TempDir(): config, data_dir
	cfgPath string
	dataDir string

	cmd  *exec.Cmd
	log  *logBuffer // stderr of the current process
	done chan error // receives Wait's result once
	logs []string   // stderr of earlier processes (restart, kill9)

	// Addresses of the current process, host:port.
	UDP, TCP, TLS, WS, WSS, HTTP string
	WSPath                       string
}

// startGateway writes a config with every SIP transport and the HTTPS side
// on 127.0.0.1 port 0, domain example.com and user u1000/secret, plus
// yamlExtra (further top-level keys), and starts serve. Cleanup stops it
// with SIGTERM and requires exit status 0 within 10 s.
func startGateway(t *testing.T, yamlExtra string) *gateway {
	t.Helper()
	return startGatewaySIP(t, "", yamlExtra)
}

// startGatewaySIP is startGateway with sipExtra added to the sip: mapping
// (for example "max_message_size: 4000").
func startGatewaySIP(t *testing.T, sipExtra, yamlExtra string) *gateway {
	t.Helper()
	dir := t.TempDir()
	g := &gateway{t: t, dir: dir, cfgPath: filepath.Join(dir, "switchboard.yaml"), dataDir: filepath.Join(dir, "data")}
	cfg := fmt.Sprintf(`domain: example.com
data_dir: %s
log: {level: info}
sip:
  listen: [udp://127.0.0.1:0, tcp://127.0.0.1:0, tls://127.0.0.1:0, ws://127.0.0.1:0/ws, wss://127.0.0.1:0/ws]
`, g.dataDir)
	for _, l := range strings.Split(strings.TrimSpace(sipExtra), "\n") {
		if l != "" {
			cfg += "  " + l + "\n"
		}
	}
	cfg += "http:\n  listen: 127.0.0.1:0\n"
	if !strings.Contains(yamlExtra, "users:") {
		cfg += "users:\n  - {username: u1000, password: secret}\n"
	}
	cfg += yamlExtra
	if !strings.Contains("\n"+yamlExtra, "\nturn:") {
		cfg += "\nturn: {enabled: false}\n" // STUN/TURN's default ports would collide between parallel gateways
	}
	if !strings.Contains(yamlExtra, "webrtc:") {
		cfg += "webrtc: {port: 0}\n" // any free UDP port: gateways run side by side
	}
	if !strings.Contains("\n"+yamlExtra, "\nattendant:") {
		cfg += "attendant: {console_link: {tls: \"\"}}\n" // the console link's 51235 would collide too
	}
	if err := os.WriteFile(g.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	g.start()
	t.Cleanup(g.cleanup)
	return g
}

var (
	reSIPListening = regexp.MustCompile(`msg="sip listening".* transport=(\w+) addr=(\S+) path=(\S*)`)
	reHTTPS        = regexp.MustCompile(`msg="https listening" addr=(\S+)`)
)

// start runs serve and waits for "switchboard ready".
func (g *gateway) start() {
	t := g.t
	t.Helper()
	g.log = &logBuffer{}
	cmd := exec.Command(binPath, "serve", "--config", g.cfgPath)
	cmd.Dir = g.dir
	cmd.Stdout = g.log
	cmd.Stderr = g.log
	done, err := startChild(cmd)
	if err != nil {
		t.Fatalf("starting switchboard: %v", err)
	}
	g.cmd = cmd
	g.done = done

	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(g.log.String(), `msg="switchboard ready"`) {
		select {
		case err := <-g.done:
			g.done <- err
			t.Fatalf("switchboard exited before ready: %v\n%s", err, g.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("switchboard not ready after 15s:\n%s", g.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	out := g.log.String()
	g.UDP, g.TCP, g.TLS, g.WS, g.WSS = "", "", "", "", ""
	for _, m := range reSIPListening.FindAllStringSubmatch(out, -1) {
		switch m[1] {
		case "udp":
			g.UDP = m[2]
		case "tcp":
			g.TCP = m[2]
		case "tls":
			g.TLS = m[2]
		case "ws":
			g.WS, g.WSPath = m[2], strings.Trim(m[3], `"`)
		case "wss":
			g.WSS, g.WSPath = m[2], strings.Trim(m[3], `"`)
		}
	}
	if m := reHTTPS.FindStringSubmatch(out); m != nil {
		g.HTTP = m[1]
	}
	if g.HTTP == "" {
		t.Fatalf("no https address in the log:\n%s", out)
	}
}

// alive reports whether the current process is still running.
func (g *gateway) alive() bool {
	select {
	case err := <-g.done:
		g.done <- err
		return false
	default:
		return true
	}
}

// requireAlive fails the test when the process has exited.
func (g *gateway) requireAlive() {
	g.t.Helper()
	if !g.alive() {
		g.t.Fatalf("switchboard died:\n%s", g.log.String())
	}
}

// stop sends sig and waits up to timeout for the exit; it returns the
// exit code (-1 when killed by a signal).
func (g *gateway) stop(sig syscall.Signal, timeout time.Duration) (int, error) {
	if g.cmd == nil {
		return 0, nil
	}
	_ = g.cmd.Process.Signal(sig)
	select {
	case err := <-g.done:
		g.done <- err
		g.logs = append(g.logs, g.log.String())
		g.cmd = nil
		return g.exitCode(err), nil
	case <-time.After(timeout):
		_ = g.cmd.Process.Kill()
		err := <-g.done
		g.done <- err
		g.logs = append(g.logs, g.log.String())
		g.cmd = nil
		return -1, fmt.Errorf("no exit within %v after %v", timeout, sig)
	}
}

func (g *gateway) exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// kill9 kills the process with SIGKILL: no shutdown code runs.
func (g *gateway) kill9() {
	g.t.Helper()
	if _, err := g.stop(syscall.SIGKILL, 10*time.Second); err != nil {
		g.t.Fatal(err)
	}
}

// restart stops the process cleanly (if running) and starts it again on
// the same config and data_dir; the ports change.
func (g *gateway) restart() {
	g.t.Helper()
	if g.cmd != nil {
		g.requireCleanStop()
	}
	g.start()
}

// requireCleanStop sends SIGTERM and requires exit status 0 within 10 s.
func (g *gateway) requireCleanStop() {
	g.t.Helper()
	code, err := g.stop(syscall.SIGTERM, 10*time.Second)
	if err != nil || code != 0 {
		g.t.Errorf("clean shutdown failed: exit %d, %v\n%s", code, err, g.logs[len(g.logs)-1])
	}
}

func (g *gateway) cleanup() {
	t := g.t
	if g.cmd != nil {
		if !g.alive() {
			t.Errorf("switchboard died during the test:\n%s", g.log.String())
			g.cmd = nil
		} else {
			g.requireCleanStop()
		}
	}
	if t.Failed() {
		for i, l := range g.logs {
			t.Logf("switchboard log (process %d):\n%s", i+1, l)
		}
		if g.cmd != nil {
			t.Logf("switchboard log (current):\n%s", g.log.String())
		}
	}
}

// signal sends sig (SIGHUP: reload users and bans) to the process.
func (g *gateway) signal(sig syscall.Signal) {
	g.t.Helper()
	if err := g.cmd.Process.Signal(sig); err != nil {
		g.t.Fatal(err)
	}
}

// waitLog polls the log until it contains s.
func (g *gateway) waitLog(s string, timeout time.Duration) {
	g.t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(g.log.String(), s) {
		if time.Now().After(deadline) {
			g.t.Fatalf("log line %q not seen within %v", s, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cli runs a switchboard command and returns stdout, stderr and the exit code.
func cli(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := runChild(cmd)
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("switchboard %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

// --- admin API ---

var httpClient = &http.Client{
	Timeout:   10 * time.Second,
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // self-signed
}

// api does an HTTPS request to the admin side and returns status and body.
func (g *gateway) api(method, path string) (int, []byte) {
	g.t.Helper()
	req, err := http.NewRequest(method, "https://"+g.HTTP+path, nil)
	if err != nil {
		g.t.Fatal(err)
	}
	g.authorize(req)
	res, err := httpClient.Do(req)
	if err != nil {
		g.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		g.t.Fatal(err)
	}
	return res.StatusCode, body
}

// authorize adds the first-run admin's credentials (the password the
// gateway wrote to data_dir/admin.password at its first start) to req.
func (g *gateway) authorize(req *http.Request) {
	g.t.Helper()
	pw, err := os.ReadFile(filepath.Join(g.dataDir, "admin.password"))
	if err != nil {
		g.t.Fatalf("first-run admin password: %v", err)
	}
	req.SetBasicAuth("admin", strings.TrimSpace(string(pw)))
}

// registration is one binding as GET /api/v1/registrations shows it.
type registration struct {
	AOR       string    `json:"aor"`
	Contact   string    `json:"contact"`
	Expires   time.Time `json:"expires"`
	Source    string    `json:"source"`
	Transport string    `json:"transport"`
	UserAgent string    `json:"user_agent"`
	Instance  string    `json:"instance"`
	RegID     int       `json:"reg_id"`
	Path      []string  `json:"path"`
}

func (g *gateway) registrations() []registration {
	g.t.Helper()
	code, body := g.api("GET", "/api/v1/registrations")
	if code != http.StatusOK {
		g.t.Fatalf("GET /api/v1/registrations: %d %s", code, body)
	}
	var rs []registration
	if err := json.Unmarshal(body, &rs); err != nil {
		g.t.Fatalf("registrations JSON: %v\n%s", err, body)
	}
	return rs
}

// waitRegistrations polls the admin API until ok holds for the bindings,
// and returns them; on timeout it fails with the last list seen.
func (g *gateway) waitRegistrations(timeout time.Duration, what string, ok func([]registration) bool) []registration {
	g.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		rs := g.registrations()
		if ok(rs) {
			return rs
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("bindings: %s not seen within %v; have %d:\n%s", what, timeout, len(rs), fmtRegs(rs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// byAOR indexes bindings by address of record (one contact per AOR in
// these tests).
func byAOR(rs []registration) map[string]registration {
	m := make(map[string]registration, len(rs))
	for _, r := range rs {
		m[r.AOR] = r
	}
	return m
}

func fmtRegs(rs []registration) string {
	var b strings.Builder
	for i, r := range rs {
		if i == 20 {
			fmt.Fprintf(&b, "  ... %d more\n", len(rs)-20)
			break
		}
		fmt.Fprintf(&b, "  %s %s %s %s %q\n", r.AOR, r.Transport, r.Contact, r.Source, r.UserAgent)
	}
	return b.String()
}

// ban is one entry of GET /api/v1/bans.
type ban struct {
	IP     string    `json:"ip"`
	Reason string    `json:"reason"`
	Until  time.Time `json:"until"`
}

func (g *gateway) bans() []ban {
	g.t.Helper()
	code, body := g.api("GET", "/api/v1/bans")
	if code != http.StatusOK {
		g.t.Fatalf("GET /api/v1/bans: %d %s", code, body)
	}
	var bs []ban
	if err := json.Unmarshal(body, &bs); err != nil {
		g.t.Fatalf("bans JSON: %v\n%s", err, body)
	}
	return bs
}
