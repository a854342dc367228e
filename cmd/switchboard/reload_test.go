package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/gateway/app"
)

// TestReloadWithoutGateway: no pid file, a stale one, or garbage in it:
// a clear error and exit 1, nothing signalled.
func TestReloadWithoutGateway(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "sb.yaml")
	if err := os.WriteFile(cfg, []byte("data_dir: "+data+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func() (int, string) {
		var out, errOut bytes.Buffer
		code := cmdReload([]string{"--config", cfg}, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	if code, out := run(); code != 1 || !strings.Contains(out, "no running gateway") {
		t.Fatalf("no pid file: %d %s", code, out)
	}
	// A process that has exited: its pid is stale.
	p := exec.Command("true")
	if err := p.Run(); err != nil {
		t.Skip("no true(1)")
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, content := range []string{strconv.Itoa(p.ProcessState.Pid()), "garbage", "1", ""} {
		if err := os.WriteFile(filepath.Join(data, pidFile), []byte(content+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, out := run(); code != 1 || !strings.Contains(out, "no running gateway") {
			t.Fatalf("pid file %q: %d %s", content, code, out)
		}
	}
	// A config file with errors still names its data_dir.
	if err := os.WriteFile(cfg, []byte("data_dir: "+data+"\nbogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := run(); code != 1 || !strings.Contains(out, data) {
		t.Fatalf("bad file: %d %s", code, out)
	}
}

// TestPIDFile: written with this process's id, removed only while it
// still holds it.
func TestPIDFile(t *testing.T) {
	dir := t.TempDir()
	remove, err := writePIDFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, pidFile)
	if b, err := os.ReadFile(path); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("pid file %q %v", b, err)
	}
	remove()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("pid file left: %v", err)
	}
	// This test process runs no "serve": its pid is refused.
	remove, _ = writePIDFile(dir)
	if _, err := readPID(path); err == nil || !strings.Contains(err.Error(), "not a gateway") {
		t.Errorf("a pid that is no gateway: %v", err)
	}
	remove()
	// Another gateway took the file over: ours does not remove it.
	remove, _ = writePIDFile(dir)
	_ = os.WriteFile(path, []byte("12345\n"), 0o644)
	remove()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("another process's pid file removed: %v", err)
	}
}

// TestPrintResult: what an operator reads.
func TestPrintResult(t *testing.T) {
	var out, errOut bytes.Buffer
	code := printResult(app.ReloadResult{OK: true, Applied: []string{"trunks[pbx2]"}, NeedsRestart: []string{"sip.listen"},
		Notes: []string{"trunk pbx2 added"}}, &out, &errOut)
	if code != 0 || out.String() != "sip.listen changed: needs a restart\nreloaded: trunks[pbx2]\n  trunk pbx2 added\n" {
		t.Fatalf("%d %q", code, out.String())
	}
	out.Reset()
	code = printResult(app.ReloadResult{Error: "x.yaml:3: bogus: unknown key"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "refused, the running config is kept") || !strings.Contains(errOut.String(), "bogus") {
		t.Fatalf("%d %q", code, errOut.String())
	}
}
