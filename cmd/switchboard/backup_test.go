package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackupCommand runs backup and restore as an operator would: usage
// errors, an unwritable path, a round trip, a corrupt file.
func TestBackupCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "switchboard.yaml")
	if err := os.WriteFile(cfg, []byte("data_dir: "+filepath.Join(dir, "data")+"\nusers:\n  - {username: u1000, password: secret}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sb := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := run(args, &out, &errb)
		return out.String(), errb.String(), code
	}
	if _, _, code := sb("users", "add", "--config", cfg, "u2000", "pw"); code != 0 {
		t.Fatal("users add failed")
	}
	if _, stderr, code := sb("backup"); code != 2 || !strings.Contains(stderr, "usage: switchboard backup") {
		t.Errorf("backup without a file: %d %q", code, stderr)
	}
	if _, stderr, code := sb("restore", "--config", cfg); code != 2 || !strings.Contains(stderr, "usage: switchboard restore") {
		t.Errorf("restore without a file: %d %q", code, stderr)
	}
	bad := filepath.Join(dir, "no", "such", "folder", "x.backup")
	if _, stderr, code := sb("backup", "--config", cfg, bad); code != 1 || !strings.Contains(stderr, "cannot write in "+filepath.Dir(bad)) {
		t.Errorf("backup to %s: %d %q", bad, code, stderr)
	}
	out := filepath.Join(dir, "sb.backup")
	stdout, stderr, code := sb("backup", "--config", cfg, out)
	if code != 0 || !strings.Contains(stdout, "users 1") {
		t.Fatalf("backup: %d %q %q", code, stdout, stderr)
	}
	if _, _, code := sb("users", "delete", "--config", cfg, "u2000"); code != 0 {
		t.Fatal("users delete failed")
	}
	junk := filepath.Join(dir, "junk.backup")
	if err := os.WriteFile(junk, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := sb("restore", "--config", cfg, junk); code != 1 || !strings.Contains(stderr, "not a Switchboard backup") || !strings.Contains(stderr, "nothing was changed") {
		t.Errorf("restore of junk: %d %q", code, stderr)
	}
	stdout, stderr, code = sb("restore", "--config", cfg, out)
	if code != 0 || !strings.Contains(stdout, "previous store is kept as") {
		t.Fatalf("restore: %d %q %q", code, stdout, stderr)
	}
	stdout, _, _ = sb("users", "list", "--config", cfg)
	if !strings.Contains(stdout, "u2000") {
		t.Errorf("u2000 not back after the restore:\n%s", stdout)
	}
}
