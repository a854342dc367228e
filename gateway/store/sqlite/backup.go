package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	sqlite "modernc.org/sqlite"
)

// Errors of Copy, Check and InUse, for callers to test with errors.Is.
var (
	// ErrNotDatabase: the file is not an SQLite 3 database (wrong magic).
	ErrNotDatabase = errors.New("not an SQLite database")
	// ErrCorrupt: the file is an SQLite database that fails
	// PRAGMA integrity_check or cannot be read.
	ErrCorrupt = errors.New("database is corrupt")
	// ErrNotSwitchboard: a sound SQLite database without Switchboard's
	// schema (no schema_version table or not the tables of version 1).
	ErrNotSwitchboard = errors.New("not a Switchboard database")
	// ErrSchemaTooNew: the database was written by a newer Switchboard.
	ErrSchemaTooNew = errors.New("database schema is newer than this program")
	// ErrInUse: another process has the database open.
	ErrInUse = errors.New("database is in use by another process")
)

// sqliteMagic is the first 16 bytes of every SQLite 3 database file
// (https://www.sqlite.org/fileformat.html §1.3.1).
var sqliteMagic = []byte("SQLite format 3\x00")

// coreTables are the tables of schema version 1; a database without all of
// them is not ours.
var coreTables = []string{"schema_version", "users", "bindings", "bans", "settings"}

// LatestVersion is the schema version this program migrates to.
func LatestVersion() int { return len(migrations) }

// Info describes a checked database file.
type Info struct {
	// SchemaVersion is the version recorded in schema_version.
	SchemaVersion int
	// Rows counts the rows of each table (sqlite_* tables left out).
	Rows map[string]int64
}

// backuper is the part of modernc.org/sqlite's driver connection that runs
// SQLite's online backup API (https://www.sqlite.org/backup.html).
type backuper interface {
	NewBackup(dstURI string) (*sqlite.Backup, error)
}

// Copy writes a consistent snapshot of the database at src into the new
// file dst with SQLite's online backup API, while other processes (a
// serving gateway) keep reading and writing src. The whole copy is one
// backup step, so it is one read transaction: in WAL mode it does not block
// the writer and no write made during the copy can leave it half-applied.
// dst must not exist; it is created with mode 0600. On error dst is
// removed.
func Copy(ctx context.Context, src, dst string) (err error) {
	if err := checkMagic(src); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	_ = f.Close()
	defer func() {
		if err != nil {
			removeDB(dst)
		}
	}()
	db, err := sql.Open("sqlite", readDSN(src))
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, classify(err))
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		b, ok := dc.(backuper)
		if !ok {
			return errors.New("the sqlite driver has no backup API")
		}
		bk, err := b.NewBackup(dst)
		if err != nil {
			return err
		}
		if _, err := bk.Step(-1); err != nil {
			_ = bk.Finish()
			return err
		}
		return bk.Finish()
	})
	if err != nil {
		return fmt.Errorf("copy %s to %s: %w", src, dst, classify(err))
	}
	if err := syncFile(dst); err != nil {
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return nil
}

// Check verifies that path is a sound Switchboard database that this
// program can open: the SQLite magic, PRAGMA integrity_check, the tables of
// schema version 1 and a schema version not above LatestVersion. The file
// is opened read-only and as immutable (no locks, no WAL), so path must be a
// file nobody writes to, such as a copy made by Copy.
func Check(ctx context.Context, path string) (Info, error) {
	if err := checkMagic(path); err != nil {
		return Info{}, fmt.Errorf("check %s: %w", path, err)
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: "mode=ro&immutable=1"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return Info{}, fmt.Errorf("check %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check(20)`)
	if err != nil {
		return Info{}, fmt.Errorf("check %s: %w", path, classify(err))
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return Info{}, fmt.Errorf("check %s: %w", path, classify(err))
		}
		if s != "ok" {
			problems = append(problems, strings.ReplaceAll(strings.TrimPrefix(s, "*** in database main ***\n"), "\n", "; "))
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return Info{}, fmt.Errorf("check %s: %w", path, classify(err))
	}
	if len(problems) > 0 {
		return Info{}, fmt.Errorf("check %s: %w: %s", path, ErrCorrupt, strings.Join(problems, "; "))
	}

	tables, err := tableNames(ctx, db)
	if err != nil {
		return Info{}, fmt.Errorf("check %s: %w", path, classify(err))
	}
	have := map[string]bool{}
	for _, t := range tables {
		have[t] = true
	}
	var missing []string
	for _, t := range coreTables {
		if !have[t] {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return Info{}, fmt.Errorf("check %s: %w (no table %s)", path, ErrNotSwitchboard, strings.Join(missing, ", "))
	}
	info := Info{Rows: map[string]int64{}}
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&info.SchemaVersion); err != nil {
		return Info{}, fmt.Errorf("check %s: %w: schema_version: %v", path, ErrNotSwitchboard, err)
	}
	if info.SchemaVersion < 1 {
		return Info{}, fmt.Errorf("check %s: %w (schema version %d)", path, ErrNotSwitchboard, info.SchemaVersion)
	}
	if info.SchemaVersion > LatestVersion() {
		return info, fmt.Errorf("check %s: schema version %d, this switchboard knows up to %d: %w",
			path, info.SchemaVersion, LatestVersion(), ErrSchemaTooNew)
	}
	for _, t := range tables {
		var n int64
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM "`+t+`"`).Scan(&n); err != nil {
			return Info{}, fmt.Errorf("check %s: count %s: %w", path, t, classify(err))
		}
		info.Rows[t] = n
	}
	return info, nil
}

// Upgrade migrates the database at path to LatestVersion (Open does it) and
// checkpoints it back into one file. It returns the version before and
// after.
func Upgrade(ctx context.Context, path string) (from, to int, err error) {
	info, err := Check(ctx, path)
	if err != nil {
		return 0, 0, err
	}
	st, err := Open(ctx, path)
	if err != nil {
		return info.SchemaVersion, 0, fmt.Errorf("upgrade %s: %w", path, err)
	}
	to, err = st.SchemaVersion(ctx)
	// Closing the last connection checkpoints the WAL into the file and
	// removes it.
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return info.SchemaVersion, 0, fmt.Errorf("upgrade %s: %w", path, err)
	}
	return info.SchemaVersion, to, nil
}

// tableNames lists the user tables, sorted.
func tableNames(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx,
		`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out, rows.Err()
}

// checkMagic reads the first 16 bytes of path.
func checkMagic(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, len(sqliteMagic))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, sqliteMagic) {
		return ErrNotDatabase
	}
	return nil
}

// classify maps SQLite's corruption result codes to ErrCorrupt.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case 11: // SQLITE_CORRUPT
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		case 26: // SQLITE_NOTADB
			return fmt.Errorf("%w: %v", ErrNotDatabase, err)
		}
	}
	return err
}

// readDSN opens path for reading alongside its other users.
func readDSN(path string) string {
	q := url.Values{}
	q.Set("mode", "ro")
	q.Set("_busy_timeout", fmt.Sprint(busyTimeoutMS))
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// syncFile fsyncs a file.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// removeDB removes a database file and its journal companions.
func removeDB(path string) {
	for _, s := range []string{"", "-wal", "-shm", "-journal"} {
		_ = os.Remove(path + s)
	}
}
