// Package deploy tests the Debian package that `make deb` builds from this
// folder: its contents, the systemd unit, the maintainer scripts and the
// installed binary started on the installed default config.
package deploy

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// requireTool returns the path of an external tool. Missing, it fails the
// test on CI (CI=true) and skips it elsewhere.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found: make deps-test installs it (scripts/deps.sh)", name)
	}
	t.Skipf("%s not found (make deps-test installs it)", name)
	return ""
}

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the source directory")
	}
	return filepath.Dir(filepath.Dir(file))
}

func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// buildDeb builds the binary and the package as `make deb` does.
func buildDeb(t *testing.T) (deb, version string) {
	t.Helper()
	requireTool(t, "dpkg-deb")
	root := repoRoot(t)
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "switchboard")
	run(t, root, "go", "build", "-trimpath", "-o", bin, "./cmd/switchboard")
	mk := exec.Command(filepath.Join(root, "deploy", "mkdeb.sh"), bin, filepath.Join(tmp, "out"))
	mk.Env = append(os.Environ(), "DEB_COMPRESS=gzip") // xz takes minutes on a busy CI machine
	var stderr bytes.Buffer
	mk.Stderr = &stderr
	out, err := mk.Output()
	if err != nil {
		t.Fatalf("mkdeb.sh: %v\n%s", err, stderr.String())
	}
	deb = strings.TrimSpace(string(out))
	m := regexp.MustCompile(`/switchboard_([0-9][A-Za-z0-9.+~]*)_([a-z0-9]+)\.deb$`).FindStringSubmatch(deb)
	if m == nil {
		t.Fatalf("package file name %q", deb)
	}
	return deb, m[1]
}

func TestDebianPackage(t *testing.T) {
	deb, version := buildDeb(t)
	t.Logf("built %s", deb)

	// Control fields.
	fields := run(t, "", "dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Depends")
	for _, want := range []string{"Package: switchboard\n", "Version: " + version + "\n", "Depends: adduser\n"} {
		if !strings.Contains(fields, want) {
			t.Errorf("control lacks %q:\n%s", want, fields)
		}
	}
	if got := strings.TrimSpace(run(t, "", "dpkg-deb", "-I", deb, "conffiles")); got != "/etc/switchboard/switchboard.yaml" {
		t.Errorf("conffiles %q, want the config only", got)
	}
	// Contents, modes and owners.
	contents := run(t, "", "dpkg-deb", "-c", deb)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^-rwxr-xr-x root/root +\d+ .* \./usr/bin/switchboard$`),
		regexp.MustCompile(`(?m)^-rw-r--r-- root/root +\d+ .* \./usr/lib/systemd/system/switchboard\.service$`),
		regexp.MustCompile(`(?m)^-rw-r----- root/root +\d+ .* \./etc/switchboard/switchboard\.yaml$`),
		regexp.MustCompile(`(?m)^-rw-r--r-- root/root +\d+ .* \./usr/lib/sysctl\.d/60-switchboard\.conf$`),
	} {
		if !want.MatchString(contents) {
			t.Errorf("contents lack %s:\n%s", want, contents)
		}
	}

	root := t.TempDir()
	run(t, "", "dpkg-deb", "-x", deb, root)
	ctrl := t.TempDir()
	run(t, "", "dpkg-deb", "-e", deb, ctrl)

	t.Run("unit", func(t *testing.T) { checkUnit(t, root) })
	t.Run("socket buffer ceilings", func(t *testing.T) { checkSysctl(t, root) })
	t.Run("maintainer scripts", func(t *testing.T) { checkScripts(t, ctrl) })
	t.Run("serves on the default config", func(t *testing.T) { serveInstalled(t, root) })
}

// unitKeys parses a unit file's Key=Value lines (one value per key: the
// last, which is how systemd reads the keys checked here).
func unitKeys(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			keys[k] = v
		}
	}
	return keys
}

func checkUnit(t *testing.T, root string) {
	unit := filepath.Join(root, "usr", "lib", "systemd", "system", "switchboard.service")
	keys := unitKeys(t, unit)
	for k, want := range map[string]string{
		"User":                    "switchboard",
		"ExecStart":               "/usr/bin/switchboard serve --config /etc/switchboard/switchboard.yaml",
		"ExecReload":              "/bin/kill -HUP $MAINPID",
		"Restart":                 "on-failure",
		"AmbientCapabilities":     "CAP_NET_BIND_SERVICE",
		"CapabilityBoundingSet":   "CAP_NET_BIND_SERVICE",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ReadWritePaths":          "/var/lib/switchboard",
		"PrivateTmp":              "yes",
		"ProtectHome":             "yes",
		"StateDirectory":          "switchboard",
		"StateDirectoryMode":      "0750",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX AF_NETLINK",
	} {
		if keys[k] != want {
			t.Errorf("%s=%q, want %q", k, keys[k], want)
		}
	}
	// LimitNOFILE covers the relay's range at 2 sockets per port, TURN's
	// range and the SIP connections (deploy/switchboard.service says why).
	cfg := readYAML(t, filepath.Join(root, "etc", "switchboard", "switchboard.yaml"))
	media := cfg["media"].(map[string]any)
	ports := media["port_max"].(int) - media["port_min"].(int) + 1
	need := 2*ports + 10000 /* TURN */ + 10000 /* SIP connections */
	if n, err := strconv.Atoi(keys["LimitNOFILE"]); err != nil || n < need {
		t.Errorf("LimitNOFILE=%s, want at least %d", keys["LimitNOFILE"], need)
	}

	analyze := requireTool(t, "systemd-analyze")
	// verify checks that ExecStart's binary exists: point it at the
	// extracted one, leave every other line as packaged.
	body, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(t.TempDir(), "switchboard.service")
	body = bytes.ReplaceAll(body, []byte("ExecStart=/usr/bin/switchboard"), []byte("ExecStart="+filepath.Join(root, "usr", "bin", "switchboard")))
	if err := os.WriteFile(local, body, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", local).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		// Unknown keys and unparsable values are warnings with exit 0:
		// any output is a defect.
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(analyze, "security", "--offline=true", "--no-pager", local).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for switchboard\.service: ([0-9.]+)`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	t.Logf("systemd-analyze security: exposure %s", m[1])
	if x, _ := strconv.ParseFloat(string(m[1]), 64); x > 3.0 {
		t.Errorf("exposure %s, want at most 3.0 (systemd calls under 2 OK, under 4 MEDIUM)\n%s", m[1], out)
	}
}

// checkScripts runs the maintainer scripts with every command they call
// replaced by a stub that logs its arguments: what they would do on a
// real install, remove and purge, without touching this machine.
func checkScripts(t *testing.T, ctrl string) {
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		run(t, "", "sh", "-n", filepath.Join(ctrl, s))
	}
	stubs := t.TempDir()
	logFile := filepath.Join(stubs, "calls.log")
	for _, c := range []string{"getent", "adduser", "addgroup", "deluser", "delgroup", "mkdir", "chown", "chmod", "rm", "rmdir", "systemctl"} {
		// getent finds the user when STUB_USER_EXISTS is set.
		script := fmt.Sprintf("#!/bin/sh\necho \"%s $*\" >>%q\n", c, logFile)
		if c == "getent" {
			script += "[ -n \"$STUB_USER_EXISTS\" ]\n"
		}
		if err := os.WriteFile(filepath.Join(stubs, c), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	runScript := func(env []string, name string, args ...string) string {
		t.Helper()
		_ = os.Remove(logFile)
		cmd := exec.Command("/bin/sh", append([]string{filepath.Join(ctrl, name)}, args...)...)
		cmd.Env = append([]string{"PATH=" + stubs}, env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		b, _ := os.ReadFile(logFile)
		return string(b)
	}
	has := func(log, want string) bool { return strings.Contains("\n"+log, "\n"+want) }

	fresh := runScript(nil, "postinst", "configure")
	for _, want := range []string{
		"addgroup --system --quiet switchboard",
		"adduser --system --quiet --ingroup switchboard --no-create-home --home /var/lib/switchboard --shell /usr/sbin/nologin",
		"mkdir -p /var/lib/switchboard",
		"chown switchboard:switchboard /var/lib/switchboard",
		"chmod 0750 /var/lib/switchboard",
		"chmod 0640 /etc/switchboard/switchboard.yaml",
	} {
		if !has(fresh, want) {
			t.Errorf("postinst configure (fresh) did not run %q:\n%s", want, fresh)
		}
	}
	again := runScript([]string{"STUB_USER_EXISTS=1"}, "postinst", "configure", "1.0")
	if has(again, "adduser") || has(again, "addgroup") {
		t.Errorf("postinst on an upgrade made the user again:\n%s", again)
	}
	for _, args := range [][]string{{"remove"}, {"upgrade", "1.1"}} {
		if log := runScript([]string{"STUB_USER_EXISTS=1"}, "postrm", args...); strings.Contains(log, "/var/lib/switchboard") || has(log, "deluser") {
			t.Errorf("postrm %v touched the data or the user:\n%s", args, log)
		}
	}
	purge := runScript([]string{"STUB_USER_EXISTS=1"}, "postrm", "purge")
	for _, want := range []string{"rm -rf /var/lib/switchboard", "deluser --system --quiet switchboard"} {
		if !has(purge, want) {
			t.Errorf("postrm purge did not run %q:\n%s", want, purge)
		}
	}
	if log := runScript(nil, "prerm", "upgrade", "1.1"); has(log, "systemctl stop") {
		t.Errorf("prerm upgrade stopped the service (postinst restarts it):\n%s", log)
	}
}

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// syncBuffer collects a process's output; safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveInstalled starts the extracted binary on the extracted default
// config, with data_dir moved to a temporary folder and every listener
// (SIP, HTTPS, TURN, WebRTC, the console link) on 127.0.0.1 port 0, and
// asks /healthz.
func serveInstalled(t *testing.T, root string) {
	bin := filepath.Join(root, "usr", "bin", "switchboard")
	cfg := readYAML(t, filepath.Join(root, "etc", "switchboard", "switchboard.yaml"))
	if cfg["data_dir"] != "/var/lib/switchboard" {
		t.Errorf("default data_dir %v, want /var/lib/switchboard", cfg["data_dir"])
	}
	dataDir := filepath.Join(t.TempDir(), "var-lib-switchboard")
	cfg["data_dir"] = dataDir
	sip := cfg["sip"].(map[string]any)
	var listen []any
	for _, l := range sip["listen"].([]any) {
		listen = append(listen, regexp.MustCompile(`//[^/]+`).ReplaceAllString(l.(string), "//127.0.0.1:0"))
	}
	sip["listen"] = listen
	cfg["http"].(map[string]any)["listen"] = "127.0.0.1:0"
	cfg["turn"] = map[string]any{"listen": []any{"udp://127.0.0.1:0", "tcp://127.0.0.1:0"}}
	cfg["webrtc"] = map[string]any{"port": 0}
	// The attendant console link listens on 0.0.0.0:51235 by default: any
	// other gateway on the machine (a CI job's other packages run at the
	// same time) made this one exit with "address already in use".
	att, _ := cfg["attendant"].(map[string]any)
	if att == nil {
		att = map[string]any{}
	}
	link, _ := att["console_link"].(map[string]any)
	if link == nil {
		link = map[string]any{}
	}
	link["tls"] = "127.0.0.1:0"
	att["console_link"] = link
	cfg["attendant"] = att
	body, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(t.TempDir(), "switchboard.yaml")
	if err := os.WriteFile(cfgPath, body, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "check-config", cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("check-config on the packaged config: %v\n%s\n%s", err, out, body)
	}

	var logs syncBuffer
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("switchboard exited with %v\n%s", err, logs.String())
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("switchboard did not stop within 20s of SIGTERM")
		}
	})
	re := regexp.MustCompile(`msg="https listening" addr=(\S+)`)
	var addr string
	deadline := time.Now().Add(30 * time.Second)
	for addr == "" {
		if m := re.FindStringSubmatch(logs.String()); m != nil && strings.Contains(logs.String(), `msg="switchboard ready"`) {
			addr = m[1]
			break
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("switchboard exited before ready: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 30s:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(b)) != "ok" {
		t.Fatalf("/healthz: %s %q", resp.Status, b)
	}
	// First login: the admin password is in data_dir, readable by its owner only.
	fi, err := os.Stat(filepath.Join(dataDir, "admin.password"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("admin.password: %v %v", fi, err)
	}
	t.Logf("the packaged binary on the packaged config answers /healthz on %s", addr)
}

// checkSysctl: the package's sysctl.d file lets the service have the
// socket buffers it asks for (4 MiB on the SIP, TURN and ICE listeners:
// gateway/sipserver, media/turn, media/webrtc) without CAP_NET_ADMIN;
// sysctl(8) reads it (the same "key = value" form).
func checkSysctl(t *testing.T, root string) {
	const asked = 4 << 20
	body, err := os.ReadFile(filepath.Join(root, "usr", "lib", "sysctl.d", "60-switchboard.conf"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("not key = value: %q", line)
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		got[strings.TrimSpace(k)] = n
	}
	for _, k := range []string{"net.core.rmem_max", "net.core.wmem_max"} {
		if got[k] < asked {
			t.Errorf("%s = %d, want at least %d", k, got[k], asked)
		}
	}
}
