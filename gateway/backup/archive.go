// Package backup writes and restores Switchboard backups: one gzip'd tar
// file holding a manifest, a consistent copy of the SQLite store (SQLite's
// online backup API, taken while the gateway serves) and the files of
// data_dir that the store does not hold (TURN secret, self-signed
// certificate and key, first-run admin password).
//
// Layout of a backup, in this order:
//
//	manifest.json      Manifest: format, gateway version, time, schema version, rows, files with SHA-256
//	switchboard.db     the store
//	data/NAME          each regular file at the top of data_dir
//
// Restoring checks everything (format, every file's size and SHA-256, the
// database's integrity and schema version) in a staging folder before the
// current store is touched.
package backup

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Format is the manifest's format field: the magic of a backup.
const Format = "switchboard-backup/1"

// Names inside the archive.
const (
	manifestName = "manifest.json"
	dbName       = "switchboard.db"
	dataPrefix   = "data/"
)

// Limits that keep a hostile archive from filling the disk or memory.
const (
	maxManifest = 1 << 20  // bytes of manifest.json
	maxDataFile = 64 << 20 // bytes of one data_dir file
	maxFiles    = 1000     // files listed in a manifest
)

// Errors for callers to test with errors.Is.
var (
	// ErrNotBackup: the file is neither a Switchboard backup nor an SQLite
	// database (wrong magic, no manifest, another format).
	ErrNotBackup = errors.New("not a Switchboard backup")
	// ErrCorruptBackup: a backup that is truncated, fails its checksums or
	// breaks the format.
	ErrCorruptBackup = errors.New("backup is corrupt")
	// ErrExists: the backup file exists and --force was not given.
	ErrExists = errors.New("file exists")
	// ErrGatewayRunning: a process has the store open.
	ErrGatewayRunning = errors.New("the store is in use (is the gateway running?)")
)

// Manifest describes a backup.
type Manifest struct {
	// Format is always Format.
	Format string `json:"format"`
	// GatewayVersion is the version of the switchboard that wrote it.
	GatewayVersion string `json:"gateway_version"`
	// Created is when the backup was taken, UTC.
	Created time.Time `json:"created"`
	// SchemaVersion is the store's schema version.
	SchemaVersion int `json:"schema_version"`
	// Rows counts the rows of each table of the store.
	Rows map[string]int64 `json:"rows"`
	// Files are the archive's files after the manifest, in order.
	Files []File `json:"files"`
}

// File is one file of a backup.
type File struct {
	Name   string `json:"name"` // switchboard.db or data/NAME
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // hex
}

// validate checks a decoded manifest.
func (m *Manifest) validate() error {
	if m.Format != Format {
		return fmt.Errorf("%w: format %q, want %q", ErrNotBackup, m.Format, Format)
	}
	if len(m.Files) == 0 || len(m.Files) > maxFiles {
		return fmt.Errorf("%w: manifest lists %d files", ErrCorruptBackup, len(m.Files))
	}
	if m.Files[0].Name != dbName {
		return fmt.Errorf("%w: first file %q, want %s", ErrCorruptBackup, m.Files[0].Name, dbName)
	}
	seen := map[string]bool{}
	for i, f := range m.Files {
		if i > 0 && !validDataName(f.Name) {
			return fmt.Errorf("%w: bad file name %q", ErrCorruptBackup, f.Name)
		}
		if seen[f.Name] {
			return fmt.Errorf("%w: %q listed twice", ErrCorruptBackup, f.Name)
		}
		seen[f.Name] = true
		if f.Size < 0 || (i > 0 && f.Size > maxDataFile) {
			return fmt.Errorf("%w: %q has size %d", ErrCorruptBackup, f.Name, f.Size)
		}
		if b, err := hex.DecodeString(f.SHA256); err != nil || len(b) != sha256.Size {
			return fmt.Errorf("%w: %q has no valid sha256", ErrCorruptBackup, f.Name)
		}
	}
	return nil
}

// validDataName accepts "data/NAME" with NAME one plain file name.
func validDataName(name string) bool {
	base, ok := strings.CutPrefix(name, dataPrefix)
	return ok && base != "" && base != "." && base != ".." &&
		!strings.ContainsAny(base, "/\\\x00") && path.Clean(name) == name
}

// extract reads the backup r into dir: dir/switchboard.db and
// dir/data/NAME (mode 0600), each checked against the manifest, and reads
// the gzip stream to its end so that its CRC is verified. Nothing outside
// dir is written. On error dir may hold part of the files; the caller
// removes it.
func extract(r io.Reader, dir string) (*Manifest, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotBackup, err)
	}
	tr := tar.NewReader(gz)
	h, err := tr.Next()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotBackup, err)
	}
	if h.Name != manifestName || h.Typeflag != tar.TypeReg || h.Size > maxManifest {
		return nil, fmt.Errorf("%w: first entry %q is not the manifest", ErrNotBackup, h.Name)
	}
	var m Manifest
	body, err := io.ReadAll(io.LimitReader(tr, maxManifest))
	if err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", ErrCorruptBackup, err)
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", ErrNotBackup, err)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return nil, err
	}
	for _, want := range m.Files {
		h, err := tr.Next()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrCorruptBackup, want.Name, unexpected(err))
		}
		if h.Name != want.Name || h.Typeflag != tar.TypeReg || h.Size != want.Size {
			return nil, fmt.Errorf("%w: entry %q (%d bytes), manifest says %q (%d bytes)",
				ErrCorruptBackup, h.Name, h.Size, want.Name, want.Size)
		}
		if err := extractFile(tr, filepath.Join(dir, filepath.FromSlash(want.Name)), want); err != nil {
			return nil, err
		}
	}
	if _, err := tr.Next(); err != io.EOF {
		return nil, fmt.Errorf("%w: entries after the last listed file", ErrCorruptBackup)
	}
	// The tar end marker is read; drain the rest so gzip checks its CRC.
	if _, err := io.Copy(io.Discard, io.LimitReader(gz, 1<<20)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptBackup, unexpected(err))
	}
	return &m, nil
}

// extractFile writes one entry to dst and checks its SHA-256.
func extractFile(r io.Reader, dst string, want File) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, want.Size))
	if err == nil && n != want.Size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("%w: %s: %v", ErrCorruptBackup, want.Name, unexpected(err))
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, want.SHA256) {
		return fmt.Errorf("%w: %s: sha256 %s, manifest says %s", ErrCorruptBackup, want.Name, got, want.SHA256)
	}
	return nil
}

// unexpected turns a bare io.EOF in the middle of an archive into
// io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// writeArchive writes the manifest and files (name → path on disk, in the
// manifest's order) as a gzip'd tar to w.
func writeArchive(w io.Writer, m *Manifest, paths map[string]string, mtime time.Time) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	body = append(body, '\n')
	if err := tw.WriteHeader(&tar.Header{Name: manifestName, Mode: 0o600, Size: int64(len(body)), ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return err
	}
	if _, err := tw.Write(body); err != nil {
		return err
	}
	for _, f := range m.Files {
		if err := tw.WriteHeader(&tar.Header{Name: f.Name, Mode: 0o600, Size: f.Size, ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		if err := copyExactly(tw, paths[f.Name], f); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// copyExactly copies the file at p into w, failing if it no longer has the
// size and checksum recorded in f.
func copyExactly(w io.Writer, p string, f File) error {
	in, err := os.Open(p)
	if err != nil {
		return err
	}
	defer in.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(in, f.Size+1))
	if err != nil {
		return err
	}
	if n != f.Size || hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		return fmt.Errorf("%s changed while the backup was written", p)
	}
	return nil
}

// describe returns the File for the file at p named name.
func describe(name, p string) (File, error) {
	in, err := os.Open(p)
	if err != nil {
		return File{}, err
	}
	defer in.Close()
	h := sha256.New()
	n, err := io.Copy(h, in)
	if err != nil {
		return File{}, err
	}
	return File{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}
