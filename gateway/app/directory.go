package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/switchboard-gw/switchboard/gateway/b2bua"
	"github.com/switchboard-gw/switchboard/gateway/store"
)

// Directory is the in-memory copy of the users table that digest
// verification reads on every REGISTER. It is replaced whole on reload, so
// readers never take a lock.
type Directory struct {
	users atomic.Pointer[map[string]store.User]
}

// Reload reads every user from s.
func (d *Directory) Reload(ctx context.Context, s store.Store) (int, error) {
	us, err := s.Users(ctx)
	if err != nil {
		return 0, fmt.Errorf("load users: %w", err)
	}
	m := make(map[string]store.User, len(us))
	for _, u := range us {
		m[u.Username] = u
	}
	d.users.Store(&m)
	return len(m), nil
}

// HA1 returns the stored HA1 of username for algorithm (RFC 7616 §3.4.2).
func (d *Directory) HA1(username, algorithm string) (string, bool) {
	p := d.users.Load()
	if p == nil {
		return "", false
	}
	u, ok := (*p)[username]
	if !ok {
		return "", false
	}
	switch strings.ToUpper(algorithm) {
	case "", "MD5":
		return u.HA1MD5, u.HA1MD5 != ""
	case "SHA-256":
		return u.HA1SHA256, u.HA1SHA256 != ""
	}
	return "", false
}

// Profile returns a user's display name and extension (b2bua.Options).
func (d *Directory) Profile(username string) (b2bua.UserProfile, bool) {
	p := d.users.Load()
	if p == nil {
		return b2bua.UserProfile{}, false
	}
	u, ok := (*p)[username]
	if !ok {
		return b2bua.UserProfile{}, false
	}
	return b2bua.UserProfile{DisplayName: u.DisplayName, Extension: u.Extension}, true
}

// Len returns the number of users.
func (d *Directory) Len() int {
	p := d.users.Load()
	if p == nil {
		return 0
	}
	return len(*p)
}

// User returns one user.
func (d *Directory) User(username string) (store.User, bool) {
	p := d.users.Load()
	if p == nil {
		return store.User{}, false
	}
	u, ok := (*p)[username]
	return u, ok
}

// All returns every user, sorted by username.
func (d *Directory) All() []store.User {
	p := d.users.Load()
	if p == nil {
		return nil
	}
	out := make([]store.User, 0, len(*p))
	for _, u := range *p {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b store.User) int { return strings.Compare(a.Username, b.Username) })
	return out
}

// Extensions returns the users' extensions, sorted, without empties.
func (d *Directory) Extensions() []string {
	var out []string
	for _, u := range d.All() {
		if u.Extension != "" {
			out = append(out, u.Extension)
		}
	}
	slices.Sort(out)
	return out
}
