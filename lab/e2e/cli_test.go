package e2e

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCheckConfig: a file with three errors prints three FILE:LINE: key:
// message lines naming the right lines and keys, exit status 1; a valid
// file exits 0.
func TestCheckConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(`domain: example.com
log:
  level: verbose
sip:
  max_message_size: 100
bogus: 1
`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := cli(t, "check-config", bad)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	re := regexp.MustCompile(`^(.+):(\d+): (\S+): (.+)$`)
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out+errOut), "\n") {
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("line not in FILE:LINE: key: message form: %q", l)
			continue
		}
		if m[1] != bad {
			t.Errorf("file %q, want %q", m[1], bad)
		}
		got = append(got, m[2]+" "+m[3])
	}
	want := []string{"3 log.level", "5 sip.max_message_size", "6 bogus"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("errors at %q, want %q\n%s%s", got, want, out, errOut)
	}

	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("domain: example.com\nsip:\n  listen: [udp://127.0.0.1:0]\nusers:\n  - {username: u1000, password: secret}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := cli(t, "check-config", good); code != 0 {
		t.Errorf("valid file: exit %d\n%s%s", code, out, errOut)
	}
}

// TestVersion: switchboard version prints its name and a version.
func TestVersion(t *testing.T) {
	t.Parallel()
	out, _, code := cli(t, "version")
	if code != 0 || !strings.HasPrefix(out, "switchboard ") || len(strings.TrimSpace(out)) <= len("switchboard") {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

// listUsers returns the user names `switchboard users list` prints, with
// their display names.
func listUsers(t *testing.T, cfg string) map[string]string {
	t.Helper()
	out, errOut, code := cli(t, "users", "list", "--config", cfg)
	if code != 0 {
		t.Fatalf("users list: exit %d\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	hdr := lines[0]
	dn, ext := strings.Index(hdr, "DISPLAY NAME"), strings.Index(hdr, "EXTENSION")
	users := map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		name := ""
		if dn >= 0 && ext > dn && len(l) > dn {
			name = strings.TrimSpace(l[dn:min(ext, len(l))])
		}
		users[f[0]] = name
	}
	return users
}

// TestUsersCLI: users import stores the good rows of a CSV in one go,
// writes the failed-user report (row,username,reason) and stores nothing of
// a bad row; users add on a running gateway plus SIGHUP lets the new user
// register; users delete plus SIGHUP stops it.
func TestUsersCLI(t *testing.T) {
	t.Parallel()
	g := startGateway(t, "")
	dir := t.TempDir()
	in := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(in, []byte(`username,password,display_name,extension
alice,secret,Alice Ant,2001
bob,secret,Bob Bee,2002
bad name,secret,Space In Name,2003
nopass,,No Password,2004
alice,other,Alice Again,2005
`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := cli(t, "users", "import", "--config", g.cfgPath, in)
	if code != 1 || !strings.Contains(out, "imported 2 users, 3 failed") {
		t.Errorf("users import: exit %d, want 1 and 2 imported, 3 failed\n%s%s", code, out, errOut)
	}
	report := filepath.Join(dir, "users.failed.csv")
	f, err := os.Open(report)
	if err != nil {
		t.Fatalf("failed-user report: %v\n%s", err, out)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatalf("report is not CSV: %v", err)
	}
	wantRows := [][2]string{{"row", "username"}, {"4", "bad name"}, {"5", "nopass"}, {"6", "alice"}}
	if len(rows) != len(wantRows) {
		t.Fatalf("report has %d rows, want %d: %q", len(rows), len(wantRows), rows)
	}
	for i, w := range wantRows {
		if len(rows[i]) != 3 || rows[i][0] != w[0] || rows[i][1] != w[1] || rows[i][2] == "" {
			t.Errorf("report row %d: %q, want %s,%s,<reason>", i, rows[i], w[0], w[1])
		}
	}

	users := listUsers(t, g.cfgPath)
	for _, u := range []string{"alice", "bob", "u1000"} {
		if _, ok := users[u]; !ok {
			t.Errorf("users list lacks %s: %v", u, users)
		}
	}
	for _, u := range []string{"bad", "nopass"} {
		if _, ok := users[u]; ok {
			t.Errorf("users list has %s from a failed row", u)
		}
	}
	if users["alice"] != "Alice Ant" {
		t.Errorf("alice's display name %q: the failed duplicate row changed it", users["alice"])
	}

	// users add on the running gateway, then SIGHUP.
	if out, errOut, code := cli(t, "users", "add", "--config", g.cfgPath, "--display-name", "Carol", "carol", "pw-carol"); code != 0 {
		t.Fatalf("users add: exit %d\n%s%s", code, out, errOut)
	}
	reloads := strings.Count(g.log.String(), `msg=reloaded`)
	g.signal(syscall.SIGHUP)
	waitCount(t, g, `msg=reloaded`, reloads+1)
	c := dialSIP(t, "udp", "127.0.0.1", g.UDP)
	for _, u := range [][2]string{{"carol", "pw-carol"}, {"alice", "secret"}} {
		if res := c.register(u[0], u[1]); res.Status != 200 {
			t.Errorf("%s after users add/import + SIGHUP: %d %s", u[0], res.Status, res.Reason)
		}
	}

	// users delete, then SIGHUP: carol's credentials stop working.
	if out, errOut, code := cli(t, "users", "delete", "--config", g.cfgPath, "carol"); code != 0 {
		t.Fatalf("users delete: exit %d\n%s%s", code, out, errOut)
	}
	if _, ok := listUsers(t, g.cfgPath)["carol"]; ok {
		t.Errorf("users list still has carol after delete")
	}
	if _, _, code := cli(t, "users", "delete", "--config", g.cfgPath, "carol"); code != 1 {
		t.Errorf("deleting a missing user: exit %d, want 1", code)
	}
	g.signal(syscall.SIGHUP)
	waitCount(t, g, `msg=reloaded`, reloads+2)
	c2 := dialSIP(t, "udp", "127.0.0.1", g.UDP)
	if res := c2.register("carol", "pw-carol"); res.Status != 401 {
		t.Errorf("deleted user registering: %d %s, want 401", res.Status, res.Reason)
	}
	g.requireAlive()
}

// waitCount polls the gateway log until s occurs n times.
func waitCount(t *testing.T, g *gateway, s string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(g.log.String(), s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%q seen %d times, want %d", s, strings.Count(g.log.String(), s), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
