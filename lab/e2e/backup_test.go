package e2e

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/store/sqlite"
)

// backupManifest is the part of a backup's manifest.json checked here.
type backupManifest struct {
	Format        string           `json:"format"`
	SchemaVersion int              `json:"schema_version"`
	Rows          map[string]int64 `json:"rows"`
}

// openBackup unpacks a backup file's manifest and store into a temporary
// folder and checks the store (PRAGMA integrity_check, schema) with the
// store package; it returns the manifest and the store's real row counts.
func openBackup(t *testing.T, path string) (backupManifest, sqlite.Info) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tr := tar.NewReader(gz)
	dir := t.TempDir()
	var m backupManifest
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		switch h.Name {
		case "manifest.json":
			if err := json.NewDecoder(tr).Decode(&m); err != nil {
				t.Fatalf("%s: manifest: %v", path, err)
			}
		case "switchboard.db":
			out, err := os.Create(filepath.Join(dir, "switchboard.db"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(out, tr); err != nil {
				t.Fatal(err)
			}
			if err := out.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	info, err := sqlite.Check(context.Background(), filepath.Join(dir, "switchboard.db"))
	if err != nil {
		t.Fatalf("%s: the backed-up store: %v", path, err)
	}
	return m, info
}

// noCallCaps replaces the default class by one without call caps: SIPp
// places the calls of one user at 20 a second.
const noCallCaps = `call_policy:
  classes:
    - {name: default, allow: [internal, emergency, private, tollfree, national, special]}
`

// TestBackupUnderLoad takes backups with `switchboard backup` while SIPp
// registers 450 phones (every 200 OK is a store write) and places 30 calls
// through a trunk (a call record each): each backup opens, passes
// integrity_check and holds what its manifest says, and the counts only
// grow. The last one is restored into a second gateway (refused while that
// gateway runs), which then serves the 450 registrations, the call history
// and the first gateway's admin password.
func TestBackupUnderLoad(t *testing.T) {
	t.Parallel()
	requireTool(t, "sipp")
	const rounds, n, calls = 3, 150, 30
	users := [][]string{{"u1000"}}
	for r := 0; r < rounds; r++ {
		users = append(users, userNames(6000+r*n, n))
	}
	uasPort := freeUDPPort(t, "127.0.0.2")
	startUAS(t, "call_uas.xml", uasPort)
	g := startGateway(t, callsConfig(uasPort)+noCallCaps+usersYAML(users...))
	out := t.TempDir()

	var loadDone atomic.Bool
	var taken []string
	t.Run("load", func(t *testing.T) {
		var running atomic.Int32
		running.Store(2)
		t.Run("registrations", func(t *testing.T) {
			t.Parallel()
			defer func() { loadDone.Store(running.Add(-1) == 0) }()
			for r := 1; r <= rounds; r++ {
				runSIPp(t, sippRun{Scenario: "reg_auth.xml", Transport: "u1", Target: g.UDP, Users: users[r]})
			}
		})
		t.Run("calls", func(t *testing.T) {
			t.Parallel()
			defer func() { loadDone.Store(running.Add(-1) == 0) }()
			if out, err := runUAC(t, "call_uac_auth.xml", g.UDP, "2000", calls); err != nil {
				t.Errorf("sipp uac: %v\n%s", err, tail(out, 3000))
			}
		})
		t.Run("backups", func(t *testing.T) {
			t.Parallel()
			for i := 0; i < 20 && (i < 2 || !loadDone.Load()); i++ {
				p := filepath.Join(out, fmt.Sprintf("b%02d.backup", i))
				start := time.Now()
				stdout, stderr, code := cli(t, "backup", "--config", g.cfgPath, p)
				if code != 0 {
					t.Fatalf("backup %d: exit %d: %s%s", i, code, stdout, stderr)
				}
				t.Logf("backup %d in %v: %s", i, time.Since(start).Round(time.Millisecond), strings.TrimSpace(stdout))
				taken = append(taken, p)
			}
		})
	})
	if t.Failed() {
		return
	}
	g.waitRegistrations(10*time.Second, "all bindings", func(rs []registration) bool { return len(rs) == rounds*n })
	deadline := time.Now().Add(20 * time.Second)
	for len(g.calls("limit=100").Calls) < calls {
		if time.Now().After(deadline) {
			t.Fatalf("%d call records, want %d", len(g.calls("limit=100").Calls), calls)
		}
		time.Sleep(100 * time.Millisecond)
	}
	final := filepath.Join(out, "final.backup")
	if _, stderr, code := cli(t, "backup", "--config", g.cfgPath, final); code != 0 {
		t.Fatalf("final backup: %s", stderr)
	}
	// Refuses to overwrite without --force.
	if _, stderr, code := cli(t, "backup", "--config", g.cfgPath, final); code != 1 || !strings.Contains(stderr, "--force") {
		t.Errorf("second backup to the same file: exit %d, %s", code, stderr)
	}
	taken = append(taken, final)

	var last, lastRecords int64 = -1, -1
	for _, p := range taken {
		m, info := openBackup(t, p)
		if m.Format != "switchboard-backup/1" || m.SchemaVersion != info.SchemaVersion {
			t.Errorf("%s: manifest %+v, store at schema %d", p, m, info.SchemaVersion)
		}
		for table, rows := range info.Rows {
			if m.Rows[table] != rows {
				t.Errorf("%s: table %s has %d rows, manifest says %d", p, table, rows, m.Rows[table])
			}
		}
		b := info.Rows["bindings"]
		if b < last {
			t.Errorf("%s: %d bindings, fewer than the backup before (%d)", p, b, last)
		}
		r := info.Rows["call_records"]
		if r < lastRecords {
			t.Errorf("%s: %d call records, fewer than the backup before (%d)", p, r, lastRecords)
		}
		last, lastRecords = b, r
		t.Logf("%s: %d bindings, %d call records", filepath.Base(p), b, r)
	}
	if last != rounds*n || lastRecords != calls {
		t.Fatalf("the final backup has %d bindings and %d call records, want %d and %d", last, lastRecords, rounds*n, calls)
	}

	// Restore into a second gateway.
	g2 := startGateway(t, callsConfig(uasPort)+noCallCaps+usersYAML(users...))
	if _, stderr, code := cli(t, "restore", "--config", g2.cfgPath, final); code != 1 || !strings.Contains(stderr, "in use") || !strings.Contains(stderr, "nothing was changed") {
		t.Errorf("restore while the gateway runs: exit %d, %s", code, stderr)
	}
	g2.requireCleanStop()
	stdout, stderr, code := cli(t, "restore", "--config", g2.cfgPath, final)
	if code != 0 {
		t.Fatalf("restore: exit %d: %s%s", code, stdout, stderr)
	}
	t.Logf("restore: %s", strings.TrimSpace(stdout))
	g2.start()
	rs := g2.registrations() // with the admin password restored from g
	if len(rs) != rounds*n {
		t.Fatalf("the restored gateway has %d registrations, want %d", len(rs), rounds*n)
	}
	if got := len(g2.calls("limit=100").Calls); got != calls {
		t.Errorf("the restored gateway shows %d calls in its history, want %d", got, calls)
	}
	pw1, _ := os.ReadFile(filepath.Join(g.dataDir, "admin.password"))
	pw2, _ := os.ReadFile(filepath.Join(g2.dataDir, "admin.password"))
	if len(pw1) == 0 || string(pw1) != string(pw2) {
		t.Errorf("admin.password not restored")
	}
	baks, _ := filepath.Glob(filepath.Join(g2.dataDir, "switchboard.db.*.bak"))
	if len(baks) != 1 {
		t.Errorf("the replaced store is not kept: %v", baks)
	}
}
