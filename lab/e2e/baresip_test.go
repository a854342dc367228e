package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBaresipRegister: baresip, a real softphone, registers u1000 over UDP
// and u1001 over TLS; the admin API shows each with its transport and
// baresip as user agent.
//
// The gateway offers MD5 only here: baresip 1.0 (libre 1.x) gives up on a
// 401 as soon as one challenge names an algorithm other than MD5, so it
// cannot register while SHA-256 is offered too.
func TestBaresipRegister(t *testing.T) {
	t.Parallel()
	bin := requireTool(t, "baresip")
	g := startGateway(t, `registrar: {algorithms: [MD5]}
users:
  - {username: u1000, password: secret}
  - {username: u1001, password: secret}
`)
	dir := t.TempDir()
	modules := "/usr/lib/baresip/modules"
	if _, err := os.Stat(filepath.Join(modules, "account.so")); err != nil {
		t.Skipf("baresip modules not found in %s", modules)
	}
	config := fmt.Sprintf(`module_path %s
sip_listen 127.0.0.1:0
sip_cafile %s
module_app account.so
audio_player none
audio_source none
`, modules, filepath.Join(g.dataDir, "selfsigned-cert.pem"))
	accounts := fmt.Sprintf(`<sip:u1000@example.com;transport=udp>;auth_pass=secret;outbound="sip:%s;transport=udp";regint=600
<sip:u1001@example.com;transport=tls>;auth_pass=secret;outbound="sip:%s;transport=tls";regint=600
`, g.UDP, g.TLS)
	for name, body := range map[string]string{"config": config, "accounts": accounts} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// -n 127.0.0.1 keeps baresip on loopback; stdin stays open (a pipe we
	// never write) so it runs until killed; -t is a backstop.
	cmd := exec.CommandContext(ctx, bin, "-f", dir, "-n", "127.0.0.1", "-t", "60")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out := &logBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	waited, err := startChild(cmd)
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { <-waited; close(exited) }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("baresip output:\n%s", out.String())
		}
	}()

	want := map[string]string{"u1000@example.com": "udp", "u1001@example.com": "tls"}
	deadline := time.Now().Add(20 * time.Second)
	for {
		m := byAOR(g.registrations())
		ok := true
		for aor, tr := range want {
			r, found := m[aor]
			if !found || r.Transport != tr || !strings.Contains(strings.ToLower(r.UserAgent), "baresip") {
				ok = false
			}
		}
		if ok {
			break
		}
		select {
		case <-exited:
			t.Fatalf("baresip exited early:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip bindings not seen within 20s; bindings:\n%s", fmtRegs(g.registrations()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "200 OK") {
		t.Errorf("baresip did not report 200 OK:\n%s", out.String())
	}
	g.requireAlive()
}
