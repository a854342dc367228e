// Package sqlite is the embedded store.Store: one SQLite file, pure Go
// (modernc.org/sqlite, no cgo), so a single binary runs everything.
//
// The database runs in WAL mode with synchronous=NORMAL: a committed
// transaction survives the process crashing or being killed (it is in the WAL
// file, which the next open replays), though not necessarily the machine
// losing power, which costs an fsync per commit that we choose not to pay.
// Writes go through one connection (SQLite has one writer anyway, and
// queueing in Go is cheaper than SQLITE_BUSY retries); reads use a separate
// small pool, which WAL lets run alongside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/switchboard-gw/switchboard/gateway/store"
)

// busyTimeoutMS is how long a connection waits for a lock held by another
// connection (the read pool during a checkpoint, another process) before it
// gives up with SQLITE_BUSY.
const busyTimeoutMS = 10000

// readConns is the size of the read pool.
const readConns = 4

// Store is a store.Store on one SQLite database file.
type Store struct {
	path string
	w    *sql.DB // one connection: every write goes here
	r    *sql.DB // read-only pool

	// Statements of the binding hot path, prepared once on the writer's one
	// connection; transactions reuse them through Tx.StmtContext.
	putBinding, delBinding *sql.Stmt
	// The call record inserts (records.go): one record, recordsPerInsert.
	addRecord, addRecords *sql.Stmt

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open opens the database at path, creating it (mode 0600) and its parent
// directory (mode 0750) if needed, and brings the schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("open sqlite store: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	if err := createPrivate(abs); err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	w, err := sql.Open("sqlite", dsn(abs, false))
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &Store{path: abs, w: w}
	// Migrate before the read pool opens: a fresh file becomes a WAL
	// database on the writer's first connection.
	if err := migrate(ctx, w); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
	}
	if s.putBinding, err = w.PrepareContext(ctx, putBindingSQL); err == nil {
		s.delBinding, err = w.PrepareContext(ctx, delBindingSQL)
	}
	if err == nil {
		s.addRecord, err = w.PrepareContext(ctx, insertRecordsSQL(1))
	}
	if err == nil {
		s.addRecords, err = w.PrepareContext(ctx, insertRecordsSQL(recordsPerInsert))
	}
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open sqlite store %s: prepare: %w", abs, err)
	}
	r, err := sql.Open("sqlite", dsn(abs, true))
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	if err := r.PingContext(ctx); err != nil {
		_ = w.Close()
		_ = r.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
	}
	s.r = r
	return s, nil
}

// createPrivate creates an empty database file readable by its owner only,
// unless it exists. The HA1 digests in it are password equivalents for
// digest authentication; SQLite gives its -wal and -shm files the same mode.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// dsn builds the modernc.org/sqlite connection string for path.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeoutMS))
	q.Set("_foreign_keys", "1")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	if readOnly {
		q.Set("_query_only", "1")
	} else {
		// Take the write lock at BEGIN, so a transaction never fails
		// half-way trying to upgrade a read lock.
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// Close closes both connection pools. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		rerr := s.r.Close()
		_ = s.putBinding.Close()
		_ = s.delBinding.Close()
		_ = s.addRecord.Close()
		_ = s.addRecords.Close()
		// A clean close checkpoints the WAL into the main file.
		werr := s.w.Close()
		if err := errors.Join(rerr, werr); err != nil {
			s.closeErr = fmt.Errorf("close sqlite store %s: %w", s.path, err)
		}
	})
	return s.closeErr
}

// inTx runs fn in a write transaction, committing if it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Setting returns the value of a setting, or an error wrapping
// store.ErrNotFound.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("setting %q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("setting %q: %w", key, err)
	}
	return v, nil
}

// PutSetting inserts or replaces a setting.
func (s *Store) PutSetting(ctx context.Context, key, value string) error {
	if key == "" {
		return fmt.Errorf("put setting: empty key: %w", store.ErrInvalid)
	}
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO settings (key, value) VALUES (?, ?)
		 ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("put setting %q: %w", key, err)
	}
	return nil
}
