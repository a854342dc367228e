package backup

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
	"github.com/switchboard-gw/switchboard/gateway/store"
	"github.com/switchboard-gw/switchboard/gateway/store/sqlite"
)

// site is a data_dir with a store and the secrets the gateway writes there.
type site struct {
	t       *testing.T
	dataDir string
	opts    Options
}

// secrets are the files a gateway keeps in data_dir beside the store.
var secrets = map[string]string{
	"turn.secret":         "0123456789abcdef0123456789abcdef\n",
	"selfsigned-cert.pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
	"selfsigned-key.pem":  "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n",
	"admin.password":      "s3cret-first-run\n",
}

func newSite(t *testing.T) *site {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	s := &site{t: t, dataDir: dir, opts: Options{Store: filepath.Join(dir, "switchboard.db"), DataDir: dir, Version: "test-1.2.3"}}
	st := s.open()
	defer st.Close()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	var users []store.User
	for i := 0; i < 25; i++ {
		users = append(users, store.NewUser(fmt.Sprintf("u%d", 1000+i), "example.com", "pw", "User", fmt.Sprint(1000+i)))
	}
	must(t, st.AddUsers(ctx, users))
	var bs []store.BindingChange
	for i := 0; i < 10; i++ {
		bs = append(bs, store.PutBinding(store.Binding{AOR: fmt.Sprintf("u%d@example.com", 1000+i), ContactURI: fmt.Sprintf("sip:u@10.0.0.%d:5060", i), Q: store.QAbsent, Expires: now.Add(time.Hour), CallID: "c", CSeq: 2, Transport: "udp", Source: "10.0.0.1:5060"}))
	}
	must(t, st.ApplyBindings(ctx, bs))
	must(t, st.PutBan(ctx, store.Ban{IP: "192.0.2.7", Reason: "auth failures"}))
	must(t, st.PutSetting(ctx, "nonce.secret", "abc"))
	var recs []cdr.Record
	for i := 0; i < 40; i++ {
		recs = append(recs, cdr.Record{ID: fmt.Sprintf("r%03d", i), CallID: "x", Caller: "u1000", Callee: "1001", Setup: now.Add(-time.Duration(i) * time.Minute)})
	}
	must(t, st.AddRecords(ctx, recs))
	for n, v := range secrets {
		must(t, os.WriteFile(filepath.Join(dir, n), []byte(v), 0o600))
	}
	return s
}

func (s *site) open() *sqlite.Store {
	s.t.Helper()
	st, err := sqlite.Open(context.Background(), s.opts.Store)
	if err != nil {
		s.t.Fatal(err)
	}
	return st
}

// snapshot is what a user of the store sees: every user, binding, ban,
// the setting and the call history.
type snapshot struct {
	Users    []store.User
	Bindings []store.Binding
	Bans     []store.Ban
	Setting  string
	Records  []cdr.Record
}

func (s *site) snapshot() snapshot {
	s.t.Helper()
	st := s.open()
	defer st.Close()
	ctx := context.Background()
	var sn snapshot
	var err error
	if sn.Users, err = st.Users(ctx); err != nil {
		s.t.Fatal(err)
	}
	if sn.Bindings, err = st.Bindings(ctx); err != nil {
		s.t.Fatal(err)
	}
	if sn.Bans, err = st.Bans(ctx, time.Now()); err != nil {
		s.t.Fatal(err)
	}
	sn.Setting, _ = st.Setting(ctx, "nonce.secret")
	if sn.Records, err = st.CallHistory(ctx, store.CallQuery{Limit: store.MaxCallLimit}); err != nil {
		s.t.Fatal(err)
	}
	return sn
}

// fingerprint hashes every file of data_dir (names and contents), to show
// that a refused restore changed nothing.
func fingerprint(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s %x\n", e.Name(), sha256.Sum256(b))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := newSite(t)
	before := s.snapshot()
	out := filepath.Join(t.TempDir(), "sb.backup")
	m, err := Create(ctx, s.opts, out, false)
	if err != nil {
		t.Fatal(err)
	}
	if m.SchemaVersion != sqlite.LatestVersion() || m.Rows["users"] != 25 || m.Rows["call_records"] != 40 || m.GatewayVersion != "test-1.2.3" {
		t.Fatalf("manifest %+v", m)
	}
	if len(m.Files) != 1+len(secrets) {
		t.Fatalf("files %+v, want the store and %d secrets", m.Files, len(secrets))
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}

	// Lose things after the backup: a user, a binding, a ban, the
	// setting, a rotated secret, a deleted certificate.
	st := s.open()
	must(t, st.DeleteUser(ctx, "u1003"))
	must(t, st.ApplyBindings(ctx, []store.BindingChange{store.DeleteBinding("u1000@example.com", before.Bindings[0].Key())}))
	must(t, st.DeleteBan(ctx, "192.0.2.7"))
	must(t, st.PutSetting(ctx, "nonce.secret", "changed"))
	must(t, st.Close())
	must(t, os.WriteFile(filepath.Join(s.dataDir, "turn.secret"), []byte("rotated-secret-rotated-secret\n"), 0o600))
	must(t, os.Remove(filepath.Join(s.dataDir, "selfsigned-key.pem")))

	now := time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC)
	o := s.opts
	o.Now = func() time.Time { return now }
	res, err := Restore(ctx, o, out)
	if err != nil {
		t.Fatal(err)
	}
	if res.FromVersion != sqlite.LatestVersion() || res.ToVersion != sqlite.LatestVersion() || res.Rows["users"] != 25 {
		t.Fatalf("result %+v", res)
	}
	after := s.snapshot()
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("restored store differs:\nbefore %+v\nafter  %+v", before, after)
	}
	for n, v := range secrets {
		b, err := os.ReadFile(filepath.Join(s.dataDir, n))
		if err != nil || string(b) != v {
			t.Errorf("%s after restore: %q %v, want %q", n, b, err, v)
		}
	}
	// What was replaced is kept.
	bak := s.opts.Store + ".20261207T070000Z.bak"
	if res.Replaced != bak {
		t.Fatalf("replaced %q, want %q", res.Replaced, bak)
	}
	old, err := sqlite.Check(ctx, bak)
	if err != nil || old.Rows["users"] != 24 {
		t.Fatalf("the replaced store %s: %+v %v", bak, old, err)
	}
	b, err := os.ReadFile(filepath.Join(s.dataDir, "turn.secret.20261207T070000Z.bak"))
	if err != nil || !strings.HasPrefix(string(b), "rotated") {
		t.Fatalf("the replaced turn.secret: %q %v", b, err)
	}
	if !reflect.DeepEqual(res.Kept, []string{"turn.secret"}) {
		t.Errorf("kept %v, want [turn.secret]", res.Kept)
	}
	// The restored store is writable by a gateway.
	st = s.open()
	must(t, st.PutSetting(ctx, "after", "restore"))
	must(t, st.Close())
}

func TestBackupRefusesOverwriteWithoutForce(t *testing.T) {
	ctx := context.Background()
	s := newSite(t)
	out := filepath.Join(t.TempDir(), "sb.backup")
	must(t, os.WriteFile(out, []byte("precious"), 0o600))
	if _, err := Create(ctx, s.opts, out, false); !errors.Is(err, ErrExists) {
		t.Fatalf("err %v, want ErrExists", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "precious" {
		t.Fatalf("the existing file was changed: %q", b)
	}
	if _, err := Create(ctx, s.opts, out, true); err != nil {
		t.Fatalf("with force: %v", err)
	}
	if _, err := Restore(ctx, s.opts, out); err != nil {
		t.Fatalf("restoring the forced backup: %v", err)
	}
}

func TestBackupUnwritablePath(t *testing.T) {
	ctx := context.Background()
	s := newSite(t)
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "afile"), nil, 0o600))
	cases := map[string]string{
		"missing folder":      filepath.Join(dir, "no", "such", "dir", "sb.backup"),
		"parent is a file":    filepath.Join(dir, "afile", "sb.backup"),
		"read-only /proc/sys": "/proc/sys/sb.backup",
	}
	if os.Geteuid() != 0 { // root writes through mode bits
		ro := filepath.Join(dir, "ro")
		must(t, os.Mkdir(ro, 0o500))
		cases["read-only folder"] = filepath.Join(ro, "sb.backup")
	}
	before := fingerprint(t, dir)
	for name, out := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Create(ctx, s.opts, out, false)
			if err == nil || !strings.Contains(err.Error(), "cannot write in "+filepath.Dir(out)) {
				t.Fatalf("err %v, want one naming the folder", err)
			}
			t.Logf("%s: %v", name, err)
		})
	}
	if fingerprint(t, dir) != before {
		t.Fatal("a failed backup left files behind")
	}
	if fingerprint(t, s.dataDir) == "" {
		t.Fatal("data_dir is gone")
	}
}

// corrupt builds the hostile inputs of TestRestoreRefusesBadFiles from a
// good backup.
func corruptInputs(t *testing.T, good []byte) map[string]struct {
	data []byte
	want error
} {
	t.Helper()
	dir := t.TempDir()
	// A valid SQLite file that is not ours.
	foreign := filepath.Join(dir, "foreign.db")
	db, err := sql.Open("sqlite", foreign)
	must(t, err)
	_, err = db.Exec(`CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO photos (name) VALUES ('cat')`)
	must(t, err)
	must(t, db.Close())
	foreignBytes, err := os.ReadFile(foreign)
	must(t, err)

	// The good backup's store, corrupted in a b-tree page but repacked
	// with matching checksums: only integrity_check can tell.
	stage := t.TempDir()
	m, err := extract(bytes.NewReader(good), stage)
	must(t, err)
	dbBytes, err := os.ReadFile(filepath.Join(stage, dbName))
	must(t, err)
	pageSize := int(dbBytes[16])<<8 | int(dbBytes[17])
	if pageSize == 1 {
		pageSize = 65536
	}
	broken := append([]byte(nil), dbBytes...)
	for i := 2 * pageSize; i < 3*pageSize && i < len(broken); i += 7 {
		broken[i] ^= 0x5a
	}
	repack := func(db []byte, edit func(*Manifest)) []byte {
		p := filepath.Join(t.TempDir(), dbName)
		must(t, os.WriteFile(p, db, 0o600))
		mm := *m
		mm.Files = append([]File(nil), m.Files...)
		f, err := describe(dbName, p)
		must(t, err)
		mm.Files[0] = f
		onDisk := []string{p}
		for _, f := range mm.Files[1:] {
			onDisk = append(onDisk, filepath.Join(stage, filepath.FromSlash(f.Name)))
		}
		if edit != nil {
			edit(&mm)
		}
		paths := map[string]string{}
		for i, f := range mm.Files {
			paths[f.Name] = onDisk[i]
		}
		var buf bytes.Buffer
		must(t, writeArchive(&buf, &mm, paths, time.Now()))
		return buf.Bytes()
	}
	// A page no b-tree and no freelist owns: every query works, only
	// integrity_check sees it ("Page N: never used").
	orphan := append(append([]byte(nil), dbBytes...), make([]byte, pageSize)...)
	pages := int(orphan[28])<<24 | int(orphan[29])<<16 | int(orphan[30])<<8 | int(orphan[31])
	pages++
	orphan[28], orphan[29], orphan[30], orphan[31] = byte(pages>>24), byte(pages>>16), byte(pages>>8), byte(pages)
	// The manifest of the good backup over a data file of the same size
	// but other content: only the SHA-256 tells.
	var swappedBuf bytes.Buffer
	{
		zw := gzip.NewWriter(&swappedBuf)
		tw := tar.NewWriter(zw)
		body, _ := json.Marshal(m)
		must(t, tw.WriteHeader(&tar.Header{Name: manifestName, Mode: 0o600, Size: int64(len(body)), Typeflag: tar.TypeReg}))
		_, _ = tw.Write(body)
		for i, f := range m.Files {
			b, err := os.ReadFile(filepath.Join(stage, filepath.FromSlash(f.Name)))
			must(t, err)
			if i == len(m.Files)-1 {
				b = bytes.Repeat([]byte{'z'}, len(b))
			}
			must(t, tw.WriteHeader(&tar.Header{Name: f.Name, Mode: 0o600, Size: int64(len(b)), Typeflag: tar.TypeReg}))
			_, _ = tw.Write(b)
		}
		must(t, tw.Close())
		must(t, zw.Close())
	}
	swapped := swappedBuf.Bytes()
	rnd := make([]byte, 64<<10)
	rand.New(rand.NewSource(1)).Read(rnd)
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 0xff

	return map[string]struct {
		data []byte
		want error
	}{
		"empty file":                        {nil, ErrNotBackup},
		"random bytes":                      {rnd, ErrNotBackup},
		"a text file":                       {[]byte("users:\n  - {username: u1000}\n"), ErrNotBackup},
		"truncated backup":                  {good[:len(good)/2], ErrCorruptBackup},
		"a flipped byte":                    {flipped, ErrCorruptBackup},
		"gzip of random bytes":              {gzipBytes(t, rnd), ErrNotBackup},
		"a foreign SQLite file":             {foreignBytes, sqlite.ErrNotSwitchboard},
		"a truncated SQLite store":          {dbBytes[:len(dbBytes)-pageSize-100], sqlite.ErrCorrupt},
		"a SQLite store, bytes flipped":     {broken, sqlite.ErrCorrupt},
		"backup of a foreign SQLite":        {repack(foreignBytes, nil), sqlite.ErrNotSwitchboard},
		"backup of a text file":             {repack([]byte("not a database at all"), nil), sqlite.ErrNotDatabase},
		"backup, store corrupted":           {repack(broken, nil), sqlite.ErrCorrupt},
		"a SQLite store, orphan page":       {orphan, sqlite.ErrCorrupt},
		"backup, store with an orphan page": {repack(orphan, nil), sqlite.ErrCorrupt},
		"backup, a file swapped":            {swapped, ErrCorruptBackup},
		"backup, another format":            {repack(dbBytes, func(m *Manifest) { m.Format = "switchboard-backup/9" }), ErrNotBackup},
		"backup, path traversal":            {repack(dbBytes, func(m *Manifest) { m.Files[1].Name = "data/../../etc/passwd" }), ErrCorruptBackup},
		"backup, wrong schema in manifest":  {repack(dbBytes, func(m *Manifest) { m.SchemaVersion = 1 }), ErrCorruptBackup},
	}
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	must(t, err)
	must(t, zw.Close())
	return buf.Bytes()
}

func TestRestoreRefusesBadFiles(t *testing.T) {
	ctx := context.Background()
	s := newSite(t)
	out := filepath.Join(t.TempDir(), "good.backup")
	if _, err := Create(ctx, s.opts, out, false); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(out)
	must(t, err)
	// The current state differs from the backup, so a restore that got
	// through would show.
	st := s.open()
	must(t, st.DeleteUser(ctx, "u1001"))
	must(t, st.Close())
	before := fingerprint(t, s.dataDir)
	snap := s.snapshot()

	for name, c := range corruptInputs(t, good) {
		t.Run(name, func(t *testing.T) {
			in := filepath.Join(t.TempDir(), "in")
			must(t, os.WriteFile(in, c.data, 0o600))
			_, err := Restore(ctx, s.opts, in)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			t.Logf("refused: %v", err)
			if fingerprint(t, s.dataDir) != before {
				t.Fatal("a refused restore changed data_dir")
			}
		})
	}
	if !reflect.DeepEqual(snap, s.snapshot()) {
		t.Fatal("the store changed")
	}
	if ents, _ := filepath.Glob(filepath.Join(s.dataDir, ".switchboard-restore-*")); len(ents) > 0 {
		t.Fatalf("staging left behind: %v", ents)
	}
}

func TestRestoreRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	s := newSite(t)
	// A store a future switchboard wrote: one more schema version.
	future := filepath.Join(t.TempDir(), "future.db")
	must(t, sqlite.Copy(ctx, s.opts.Store, future))
	db, err := sql.Open("sqlite", future)
	must(t, err)
	_, err = db.Exec(`CREATE TABLE widgets (id TEXT); INSERT INTO schema_version (version, applied_at) VALUES (?, 0)`, sqlite.LatestVersion()+1)
	must(t, err)
	must(t, db.Close())

	src := &site{t: t, dataDir: filepath.Dir(future), opts: Options{Store: future, DataDir: t.TempDir(), Version: "future"}}
	out := filepath.Join(t.TempDir(), "future.backup")
	if _, err := Create(ctx, src.opts, out, false); !errors.Is(err, sqlite.ErrSchemaTooNew) {
		t.Fatalf("backing up a newer store: %v, want ErrSchemaTooNew", err)
	}
	before := fingerprint(t, s.dataDir)
	for _, in := range []string{future} {
		_, err := Restore(ctx, s.opts, in)
		if !errors.Is(err, sqlite.ErrSchemaTooNew) {
			t.Fatalf("err %v, want ErrSchemaTooNew", err)
		}
		want := fmt.Sprintf("schema version %d, this switchboard knows up to %d", sqlite.LatestVersion()+1, sqlite.LatestVersion())
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("err %q does not say %q", err, want)
		}
	}
	if fingerprint(t, s.dataDir) != before {
		t.Fatal("a refused restore changed data_dir")
	}
}

// TestRestoreMigratesOlderSchema restores the version 1 fixture of the
// migration tests, as a bare store file and as a backup.
func TestRestoreMigratesOlderSchema(t *testing.T) {
	ctx := context.Background()
	old := loadStoreFixture(t, 1)
	oldInfo, err := sqlite.Check(ctx, old)
	must(t, err)
	if oldInfo.SchemaVersion != 1 {
		t.Fatalf("fixture schema %d", oldInfo.SchemaVersion)
	}
	// Wrap it as a backup written by that old version.
	oldSite := Options{Store: old, DataDir: t.TempDir(), Version: "v0.1"}
	out := filepath.Join(t.TempDir(), "v1.backup")
	m, err := Create(ctx, oldSite, out, false)
	must(t, err)
	if m.SchemaVersion != 1 {
		t.Fatalf("manifest schema %d", m.SchemaVersion)
	}
	for _, in := range []string{old, out} {
		s := newSite(t)
		res, err := Restore(ctx, s.opts, in)
		if err != nil {
			t.Fatal(err)
		}
		if res.FromVersion != 1 || res.ToVersion != sqlite.LatestVersion() {
			t.Fatalf("%s: from %d to %d", in, res.FromVersion, res.ToVersion)
		}
		for _, tb := range []string{"users", "bindings", "bans", "settings"} {
			if res.Rows[tb] != oldInfo.Rows[tb] || res.Rows[tb] == 0 {
				t.Errorf("%s: %s rows %d, fixture has %d", in, tb, res.Rows[tb], oldInfo.Rows[tb])
			}
		}
		us := s.snapshot().Users
		if int64(len(us)) != oldInfo.Rows["users"] {
			t.Errorf("the store API reads %d users, fixture has %d", len(us), oldInfo.Rows["users"])
		}
	}
}

// holdEnv makes the test binary a process that keeps a store open (the
// gateway stand-in of TestRestoreRefusesWhileStoreInUse).
const holdEnv = "SWITCHBOARD_TEST_HOLD_STORE"

func TestMain(m *testing.M) {
	if p := os.Getenv(holdEnv); p != "" {
		st, err := sqlite.Open(context.Background(), p)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("open")
		_, _ = io.Copy(io.Discard, os.Stdin) // until the test closes stdin
		_ = st.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestRestoreRefusesWhileStoreInUse(t *testing.T) {
	ctx := context.Background()
	s := newSite(t)
	out := filepath.Join(t.TempDir(), "sb.backup")
	_, err := Create(ctx, s.opts, out, false)
	must(t, err)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+s.opts.Store)
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "open\n" {
		_ = cmd.Process.Kill()
		t.Fatalf("holder: %q", line)
	}
	before := fingerprint(t, s.dataDir)
	_, err = Restore(ctx, s.opts, out)
	if !errors.Is(err, ErrGatewayRunning) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", cmd.Process.Pid)) {
		t.Errorf("restore while in use: %v, want ErrGatewayRunning naming pid %d", err, cmd.Process.Pid)
	}
	t.Logf("refused: %v", err)
	// A backup is fine while the store is in use.
	if _, err := Create(ctx, s.opts, out, true); err != nil {
		t.Errorf("backup while in use: %v", err)
	}
	_ = stdin.Close()
	must(t, cmd.Wait())
	if fingerprint(t, s.dataDir) == before {
		// the holder's clean close removed -wal and -shm: data_dir changed, as expected
		t.Log("data_dir unchanged by the holder's close")
	}
	if _, err := Restore(ctx, s.opts, out); err != nil {
		t.Fatalf("restore once the store is closed: %v", err)
	}
}

// TestBackupWhileWriting takes backups while another connection commits
// transactions that each add a ban and a setting together: every backup
// must hold both or neither of each pair, pass integrity_check, and
// restore.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	s := newSite(t)
	db, err := sql.Open("sqlite", "file:"+s.opts.Store+"?_busy_timeout=10000&_txlock=immediate")
	must(t, err)
	defer db.Close()
	db.SetMaxOpenConns(1)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			tx, err := db.Begin()
			if err != nil {
				t.Error(err)
				return
			}
			_, err1 := tx.Exec(`INSERT INTO bans (ip, reason, until, created_at) VALUES (?, 'load', 0, 0)`, fmt.Sprintf("198.51.%d.%d", i/256, i%256))
			_, err2 := tx.Exec(`INSERT INTO settings (key, value) VALUES (?, 'x')`, fmt.Sprintf("load.%d", i))
			if err := errors.Join(err1, err2, tx.Commit()); err != nil {
				t.Error(err)
				return
			}
			writes.Add(1)
		}
	}()
	var counts []int64
	for i := 0; i < 5; i++ {
		out := filepath.Join(t.TempDir(), "sb.backup")
		m, err := Create(ctx, s.opts, out, false)
		if err != nil {
			t.Fatal(err)
		}
		bans, settings := m.Rows["bans"]-1, m.Rows["settings"]-1 // minus the site's own
		if bans != settings {
			t.Fatalf("backup %d is inconsistent: %d load bans, %d load settings", i, bans, settings)
		}
		counts = append(counts, bans)
		stage := t.TempDir()
		f, err := os.Open(out)
		must(t, err)
		_, err = extract(f, stage)
		f.Close()
		must(t, err)
		if _, err := sqlite.Check(ctx, filepath.Join(stage, dbName)); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("rows in the backups: %v; %d transactions committed meanwhile", counts, writes.Load())
	if !sort.SliceIsSorted(counts, func(i, j int) bool { return counts[i] < counts[j] }) || counts[len(counts)-1] == 0 {
		t.Fatalf("the backups did not see the writes: %v", counts)
	}
}

// loadStoreFixture builds a store file from the migration tests' fixture
// of schema version v (gateway/store/sqlite/testdata/migrations).
func loadStoreFixture(t *testing.T, v int) string {
	t.Helper()
	script, err := os.ReadFile(filepath.Join("..", "store", "sqlite", "testdata", "migrations", fmt.Sprintf("v%03d.sql", v)))
	must(t, err)
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	must(t, err)
	defer db.Close()
	_, err = db.Exec(string(script))
	must(t, err)
	return path
}

// TestBackupInsideDataDir: backups written into data_dir itself, and a
// copy of the store kept there, are not swept into the next backup.
func TestBackupInsideDataDir(t *testing.T) {
	ctx := context.Background()
	s := newSite(t)
	first := filepath.Join(s.dataDir, "nightly.backup")
	if _, err := Create(ctx, s.opts, first, false); err != nil {
		t.Fatal(err)
	}
	must(t, sqlite.Copy(ctx, s.opts.Store, filepath.Join(s.dataDir, "copy-of-store.db")))
	m, err := Create(ctx, s.opts, filepath.Join(s.dataDir, "second.backup"), false)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range m.Files {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	want := []string{"data/admin.password", "data/selfsigned-cert.pem", "data/selfsigned-key.pem", "data/turn.secret", "switchboard.db"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("files %v, want %v", names, want)
	}
}

// TestRestoreAsRootKeepsOwner: root restoring into a data folder that
// belongs to the service user (the package's /var/lib/switchboard) leaves
// the restored store and files to that user, so the service can open them.
func TestRestoreAsRootKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (the package's restore runs as root)")
	}
	ctx := context.Background()
	s := newSite(t)
	out := filepath.Join(t.TempDir(), "sb.backup")
	if _, err := Create(ctx, s.opts, out, false); err != nil {
		t.Fatal(err)
	}
	const uid, gid = 65534, 65534 // nobody, nogroup
	must(t, os.Chown(s.dataDir, uid, gid))
	must(t, os.Remove(filepath.Join(s.dataDir, "turn.secret"))) // restored anew
	if _, err := Restore(ctx, s.opts, out); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"switchboard.db", "turn.secret"} {
		fi, err := os.Stat(filepath.Join(s.dataDir, n))
		must(t, err)
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != uid || st.Gid != gid {
			t.Errorf("%s owned by %d:%d, want %d:%d", n, st.Uid, st.Gid, uid, gid)
		}
	}
}
