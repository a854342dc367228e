package accounts

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FirstRun says what EnsureFirstRun did.
type FirstRun struct {
	// Password is the first-run admin's password as data_dir/admin.password
	// holds it, "" when that file is gone (the admin changed it).
	Password string
	// Created is true when the store was empty and the admin account was
	// made now; FromFile when it was made from an existing admin.password
	// (a store restored or deleted without the file).
	Created  bool
	FromFile bool
	// Path is data_dir/admin.password.
	Path string
}

// EnsureFirstRun makes the admin account when the store has no account
// at all: with the password in dataDir/admin.password when that file
// exists, else with a random one written there (mode 0600). The caller
// prints the password once when Created && !FromFile.
func (s *Service) EnsureFirstRun(ctx context.Context, dataDir string) (FirstRun, error) {
	fr := FirstRun{Path: filepath.Join(dataDir, FirstRunFile)}
	b, err := os.ReadFile(fr.Path)
	switch {
	case err == nil:
		fr.Password = strings.TrimSpace(string(b))
	case !errors.Is(err, fs.ErrNotExist):
		return fr, fmt.Errorf("read %s: %w", fr.Path, err)
	}
	as, err := s.st.Accounts(ctx)
	if err != nil {
		return fr, fmt.Errorf("first run: %w", err)
	}
	if len(as) > 0 {
		return fr, nil
	}
	fr.Created = true
	fr.FromFile = fr.Password != ""
	if !fr.FromFile {
		raw := make([]byte, 18)
		if _, err := rand.Read(raw); err != nil {
			return fr, fmt.Errorf("first run: %w", err)
		}
		fr.Password = base64.RawURLEncoding.EncodeToString(raw)
	}
	if _, err := s.Create(ctx, NewAccount{Name: FirstRunAccount, DisplayName: "Administrator", Role: RoleAdmin,
		Password: fr.Password}); err != nil {
		return fr, fmt.Errorf("first run: create %s: %w", FirstRunAccount, err)
	}
	if !fr.FromFile {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return fr, fmt.Errorf("create data dir: %w", err)
		}
		if err := os.WriteFile(fr.Path, []byte(fr.Password+"\n"), 0o600); err != nil {
			return fr, fmt.Errorf("write %s: %w", fr.Path, err)
		}
	}
	return fr, nil
}
