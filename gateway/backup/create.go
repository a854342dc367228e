package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/store/sqlite"
)

// Options name the store and data folder a backup is taken from or
// restored into.
type Options struct {
	// Store is the SQLite file (config key store).
	Store string
	// DataDir is the data folder (config key data_dir).
	DataDir string
	// Version is the running switchboard's version, for the manifest.
	Version string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now().UTC()
	}
	return time.Now().UTC()
}

// Create writes a backup of o.Store and o.DataDir's files to out while the
// gateway keeps serving. It writes a temporary file beside out, fsyncs it
// and renames it into place, so out is either the complete backup or
// untouched; an existing out is replaced only with force.
func Create(ctx context.Context, o Options, out string, force bool) (*Manifest, error) {
	if _, err := os.Lstat(out); err == nil && !force {
		return nil, fmt.Errorf("backup: %s: %w (use --force to replace it)", out, ErrExists)
	}
	if _, err := os.Stat(o.Store); err != nil {
		return nil, fmt.Errorf("backup: store: %w", err)
	}
	dir := filepath.Dir(out)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("backup: cannot write in %s: %w", dir, err)
	}
	tmpName := tmp.Name()
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmpName)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}

	// The store's copy, staged beside the output.
	stage, err := os.MkdirTemp(dir, ".switchboard-backup-*")
	if err != nil {
		return nil, fmt.Errorf("backup: cannot write in %s: %w", dir, err)
	}
	defer os.RemoveAll(stage)
	dbCopy := filepath.Join(stage, dbName)
	if err := sqlite.Copy(ctx, o.Store, dbCopy); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	info, err := sqlite.Check(ctx, dbCopy)
	if err != nil {
		return nil, fmt.Errorf("backup: the copy fails its check: %w", err)
	}

	m := &Manifest{
		Format:         Format,
		GatewayVersion: o.Version,
		Created:        o.now(),
		SchemaVersion:  info.SchemaVersion,
		Rows:           info.Rows,
	}
	paths := map[string]string{dbName: dbCopy}
	f, err := describe(dbName, dbCopy)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	m.Files = append(m.Files, f)
	names, err := dataFiles(o)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	for _, n := range names {
		p := filepath.Join(o.DataDir, n)
		f, err := describe(dataPrefix+n, p)
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		m.Files = append(m.Files, f)
		paths[f.Name] = p
	}

	if err := writeArchive(tmp, m, paths, m.Created); err != nil {
		return nil, fmt.Errorf("backup: write %s: %w", tmpName, err)
	}
	if err := tmp.Sync(); err != nil {
		return nil, fmt.Errorf("backup: write %s: %w", tmpName, err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("backup: write %s: %w", tmpName, err)
	}
	if err := os.Rename(tmpName, out); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	done = true
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return m, nil
}

// dataFiles lists the regular files at the top of o.DataDir that go into a
// backup: all but the store and its journal files, earlier .bak copies,
// hidden and temporary files, files over maxDataFile, and gzip or SQLite
// files (earlier backups, copies of stores). A missing
// data_dir has none.
func dataFiles(o Options) ([]string, error) {
	ents, err := os.ReadDir(o.DataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	storeAbs, _ := filepath.Abs(o.Store)
	var out []string
	for _, e := range ents {
		n := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(n, ".") || strings.Contains(n, ".bak") {
			continue
		}
		p, _ := filepath.Abs(filepath.Join(o.DataDir, n))
		if p == storeAbs || strings.HasPrefix(p, storeAbs+"-") {
			continue // the store, -wal, -shm, -journal
		}
		if fi, err := e.Info(); err != nil || fi.Size() > maxDataFile {
			continue
		}
		// Earlier backups and copies of stores kept in data_dir would
		// nest: leave out gzip and SQLite files.
		if head, err := readHead(p); err != nil || bytes.HasPrefix(head, gzipMagic) || bytes.HasPrefix(head, sqliteMagic) {
			continue
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// syncDir fsyncs a directory, making renames in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
