package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/switchboard-gw/switchboard/gateway/store/sqlite"
)

// File magics: gzip (RFC 1952 §2.3.1) and SQLite 3
// (https://www.sqlite.org/fileformat.html §1.3.1).
var (
	gzipMagic   = []byte{0x1f, 0x8b}
	sqliteMagic = []byte("SQLite format 3\x00")
)

// Result says what Restore did.
type Result struct {
	// Manifest is the backup's manifest; nil when the input was a bare
	// SQLite database (a store file or an earlier .bak).
	Manifest *Manifest
	// FromVersion and ToVersion are the schema versions of the backup and
	// of the restored store (the backup migrated up).
	FromVersion, ToVersion int
	// Rows counts the rows of each table of the restored store.
	Rows map[string]int64
	// Replaced is where the previous store went (empty if there was none).
	Replaced string
	// Files are the data_dir files written; Kept those whose previous
	// content was moved to a .bak beside them.
	Files, Kept []string
}

// Restore replaces o.Store (and the data_dir files the backup holds) with
// the backup in, which is a file written by Create or a bare Switchboard
// SQLite database. Everything is checked in a staging folder beside the
// store first: the format, each file's size and SHA-256, PRAGMA
// integrity_check, that the database is Switchboard's and not from a newer
// schema; an older schema is migrated up there. Only then is the current
// store renamed to STORE.<time>.bak (with its -wal and -shm) and the staged
// one renamed into place; a data file whose content differs is kept as
// NAME.<time>.bak. Restore refuses while any process has the store open.
//
// Run as root, the restored files get the owner of the store's folder, so
// a gateway running as its own user can open them.
func Restore(ctx context.Context, o Options, in string) (*Result, error) {
	if err := sqlite.InUse(o.Store); err != nil {
		if errors.Is(err, sqlite.ErrInUse) {
			return nil, fmt.Errorf("restore: %w: %v; stop it first (systemctl stop switchboard)", ErrGatewayRunning, err)
		}
		return nil, fmt.Errorf("restore: %w", err)
	}
	head, err := readHead(in)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	storeDir := filepath.Dir(o.Store)
	if err := os.MkdirAll(storeDir, 0o750); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	stage, err := os.MkdirTemp(storeDir, ".switchboard-restore-*")
	if err != nil {
		return nil, fmt.Errorf("restore: cannot write in %s: %w", storeDir, err)
	}
	defer os.RemoveAll(stage)
	stagedDB := filepath.Join(stage, dbName)

	res := &Result{}
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		f, err := os.Open(in)
		if err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		m, err := extract(f, stage)
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("restore %s: %w", in, err)
		}
		res.Manifest = m
	case bytes.HasPrefix(head, sqliteMagic):
		if err := sqlite.Copy(ctx, in, stagedDB); err != nil {
			return nil, fmt.Errorf("restore %s: %w", in, err)
		}
	default:
		return nil, fmt.Errorf("restore %s: %w: neither a backup (gzip) nor an SQLite database", in, ErrNotBackup)
	}

	info, err := sqlite.Check(ctx, stagedDB)
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", in, err)
	}
	if res.Manifest != nil && res.Manifest.SchemaVersion != info.SchemaVersion {
		return nil, fmt.Errorf("restore %s: %w: manifest says schema version %d, the database has %d",
			in, ErrCorruptBackup, res.Manifest.SchemaVersion, info.SchemaVersion)
	}
	res.FromVersion = info.SchemaVersion
	if _, res.ToVersion, err = sqlite.Upgrade(ctx, stagedDB); err != nil {
		return nil, fmt.Errorf("restore %s: migrate from schema version %d: %w", in, info.SchemaVersion, err)
	}
	after, err := sqlite.Check(ctx, stagedDB)
	if err != nil {
		return nil, fmt.Errorf("restore %s: after migrating: %w", in, err)
	}
	res.Rows = after.Rows

	// Everything checked: swap. The store is in use by nobody (checked
	// above); a gateway started from here on opens the restored file.
	owner := ownerOf(storeDir)
	stamp := o.now().Format("20060102T150405Z")
	if err := chown(stagedDB, owner); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if res.Replaced, err = swapStore(o.Store, stagedDB, stamp); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if res.Manifest != nil {
		if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
			return res, fmt.Errorf("restore: store restored, data files not: %w", err)
		}
		dataOwner := ownerOf(o.DataDir)
		for _, f := range res.Manifest.Files[1:] {
			name := strings.TrimPrefix(f.Name, dataPrefix)
			kept, err := placeDataFile(filepath.Join(stage, "data", name), filepath.Join(o.DataDir, name), stamp, dataOwner)
			if err != nil {
				return res, fmt.Errorf("restore: store restored, data file %s not: %w", name, err)
			}
			res.Files = append(res.Files, name)
			if kept {
				res.Kept = append(res.Kept, name)
			}
		}
		if err := syncDir(o.DataDir); err != nil {
			return res, fmt.Errorf("restore: %w", err)
		}
	}
	return res, nil
}

// readHead returns the first bytes of a file.
func readHead(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, 16)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return head[:n], nil
}

// swapStore moves store (and its -wal, -shm) to store.<stamp>.bak and
// renames staged into its place. It returns the .bak path, or "" when there
// was no store. If the final rename fails the old store is put back.
func swapStore(store, staged, stamp string) (string, error) {
	bak := store + "." + stamp + ".bak"
	var moved []string
	undo := func() {
		for _, s := range moved {
			_ = os.Rename(bak+s, store+s)
		}
	}
	for _, s := range []string{"", "-wal", "-shm"} {
		err := os.Rename(store+s, bak+s)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			undo()
			return "", err
		}
		moved = append(moved, s)
	}
	_ = os.Remove(store + "-journal") // a rollback journal of no use to the new file
	if err := os.Rename(staged, store); err != nil {
		undo()
		return "", err
	}
	if err := syncDir(filepath.Dir(store)); err != nil {
		return "", err
	}
	if len(moved) == 0 {
		return "", nil
	}
	return bak, nil
}

// placeDataFile renames src to dst; a different dst is first kept as
// dst.<stamp>.bak (kept is true then). An identical dst is left as it is.
func placeDataFile(src, dst, stamp string, owner *fileOwner) (kept bool, err error) {
	old, err := os.ReadFile(dst)
	switch {
	case err == nil:
		cur, err := os.ReadFile(src)
		if err != nil {
			return false, err
		}
		if bytes.Equal(old, cur) {
			return false, nil
		}
		if err := os.Rename(dst, dst+"."+stamp+".bak"); err != nil {
			return false, err
		}
		kept = true
	case !errors.Is(err, fs.ErrNotExist):
		return false, err
	}
	if err := chown(src, owner); err != nil {
		return kept, err
	}
	return kept, os.Rename(src, dst)
}

// fileOwner is a uid and gid.
type fileOwner struct{ uid, gid int }

// ownerOf returns the owner of dir when this process runs as root and
// dir belongs to someone else, else nil (nothing to change).
func ownerOf(dir string) *fileOwner {
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return nil
	}
	return &fileOwner{uid: int(st.Uid), gid: int(st.Gid)}
}

// chown gives p to owner, if any.
func chown(p string, owner *fileOwner) error {
	if owner == nil {
		return nil
	}
	return os.Chown(p, owner.uid, owner.gid)
}
