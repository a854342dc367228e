package backup

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzExtract feeds arbitrary bytes to the archive reader. Whatever it
// accepts must be exactly what its manifest promises: every listed file in
// the folder with the listed size and SHA-256, nothing else written, and
// nothing outside the folder.
func FuzzExtract(f *testing.F) {
	// Seeds: a well-formed archive (extract does not look inside the
	// database; Restore's sqlite.Check does) and damaged ones.
	dir := f.TempDir()
	paths := map[string]string{}
	m := &Manifest{Format: Format, GatewayVersion: "fuzz", Created: time.Unix(1764000000, 0).UTC(), SchemaVersion: 3}
	for name, body := range map[string]string{dbName: "SQLite format 3\x00 and pages", "data/turn.secret": "fuzz-secret-fuzz-secret"} {
		p := filepath.Join(dir, strings.ReplaceAll(name, "/", "_"))
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			f.Fatal(err)
		}
		d, err := describe(name, p)
		if err != nil {
			f.Fatal(err)
		}
		paths[name] = p
		if name == dbName {
			m.Files = append([]File{d}, m.Files...)
		} else {
			m.Files = append(m.Files, d)
		}
	}
	var good bytes.Buffer
	if err := writeArchive(&good, m, paths, m.Created); err != nil {
		f.Fatal(err)
	}
	b := good.Bytes()
	f.Add(good.Bytes())
	f.Add(good.Bytes()[:len(b)/3])
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add([]byte("SQLite format 3\x00"))

	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		dir := filepath.Join(root, "stage")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		m, err := extract(bytes.NewReader(data), dir)
		var written []string
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(dir, p)
				if strings.HasPrefix(rel, "..") {
					t.Fatalf("wrote %s outside the staging folder", p)
				}
				written = append(written, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			return
		}
		if len(written) != len(m.Files) {
			t.Fatalf("wrote %v, manifest lists %d files", written, len(m.Files))
		}
		for _, file := range m.Files {
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(file.Name)))
			if err != nil {
				t.Fatalf("accepted, but %s: %v", file.Name, err)
			}
			sum := sha256.Sum256(b)
			if int64(len(b)) != file.Size || !strings.EqualFold(hex.EncodeToString(sum[:]), file.SHA256) {
				t.Fatalf("accepted %s with %d bytes, manifest: %+v", file.Name, len(b), file)
			}
		}
		if m.Format != Format {
			t.Fatalf("accepted format %q", m.Format)
		}
	})
}
