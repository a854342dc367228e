package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/gateway/app"
	"github.com/switchboard-gw/switchboard/gateway/config"
)

// TestAccountsCommand: add, list, passwd, token, disable and delete work
// on the store a gateway would open, and the results log in.
func TestAccountsCommand(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "sb.yaml")
	if err := os.WriteFile(cfgPath, []byte("data_dir: "+filepath.Join(dir, "data")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runOK := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(append([]string{"accounts"}, append(args, "--config", cfgPath)...), &out, &errb); code != 0 {
			t.Fatalf("accounts %v: exit %d\n%s", args, code, errb.String())
		}
		return out.String()
	}
	runOK("add", "olga", "olga-password", "--role", "supervisor", "--groups", "reception,night", "--device", "mitel1:1001")
	out := runOK("add", "otto")
	if !strings.Contains(out, "password: ") {
		t.Fatalf("add without a password prints none: %q", out)
	}
	out = runOK("list")
	if !strings.Contains(out, "olga") || !strings.Contains(out, "supervisor") || !strings.Contains(out, "night,reception") || !strings.Contains(out, "otto") {
		t.Fatalf("list:\n%s", out)
	}
	var errb bytes.Buffer
	if code := run([]string{"accounts", "add", "olga", "x-password", "--config", cfgPath}, &bytes.Buffer{}, &errb); code != 1 {
		t.Fatalf("adding olga twice: exit %d", code)
	}
	if code := run([]string{"accounts", "add", "bad name", "x-password", "--config", cfgPath}, &bytes.Buffer{}, &errb); code != 1 {
		t.Fatalf("bad name: exit %d", code)
	}
	runOK("passwd", "olga", "new-olga-password")
	out = runOK("token", "olga", "crm", "--role", "operator", "--expires", "24h")
	value := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])

	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := app.NewAccounts(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, "olga", "new-olga-password", "cli"); err != nil {
		t.Errorf("olga after passwd: %v", err)
	}
	if p, err := svc.TokenPrincipal(ctx, value); err != nil || p.Role != "operator" {
		t.Errorf("token %q: %+v %v", value, p, err)
	}
	st.Close()

	runOK("disable", "olga")
	st, _ = app.OpenStore(ctx, cfg)
	svc, _ = app.NewAccounts(cfg, st)
	if _, err := svc.TokenPrincipal(ctx, value); err == nil {
		t.Error("token of a disabled account still works")
	}
	st.Close()
	runOK("delete", "olga")
	if out := runOK("list"); strings.Contains(out, "olga") {
		t.Fatalf("olga after delete:\n%s", out)
	}
}
