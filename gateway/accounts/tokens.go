package accounts

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

// An API token reads "sbt_<id>_<secret>": id is 16 hex digits that name
// the token in the API (GET/DELETE /api/v1/tokens/{id}); secret is 32
// random bytes, base64url. The store keeps the id and SHA-256(secret).
const (
	tokenPrefix    = "sbt_"
	tokenIDLen     = 16
	tokenSecretLen = 43
	tokenLen       = len(tokenPrefix) + tokenIDLen + 1 + tokenSecretLen
	maxTokenName   = 64
)

// Token is an API token as the API shows it: never its secret.
type Token struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Account   string     `json:"account"`
	Role      Role       `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	Expires   *time.Time `json:"expires"`
}

func tokenView(t store.Token) Token {
	v := Token{ID: t.ID, Name: t.Name, Account: t.Account, Role: Role(t.Role), CreatedAt: t.CreatedAt}
	if !t.Expires.IsZero() {
		e := t.Expires
		v.Expires = &e
	}
	return v
}

// ParseToken splits a bearer token into id and secret.
func ParseToken(s string) (id, secret string, ok bool) {
	if len(s) != tokenLen || !strings.HasPrefix(s, tokenPrefix) || s[len(tokenPrefix)+tokenIDLen] != '_' {
		return "", "", false
	}
	id = s[len(tokenPrefix) : len(tokenPrefix)+tokenIDLen]
	secret = s[len(tokenPrefix)+tokenIDLen+1:]
	if _, err := hex.DecodeString(id); err != nil || strings.ToLower(id) != id {
		return "", "", false
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(secret); err != nil {
		return "", "", false
	}
	return id, secret, true
}

// IssueToken makes an API token for owner, named name, with role (""
// means the owner's) and an optional expiry (zero: never). It returns the
// token's view and its full value, which is shown once and never again.
// A token cannot make tokens, and its role cannot exceed its owner's.
func (s *Service) IssueToken(ctx context.Context, owner Principal, name string, role Role, expires time.Time) (Token, string, error) {
	if owner.Via == "token" {
		return Token{}, "", fmt.Errorf("%w: an API token cannot make tokens", ErrForbidden)
	}
	if role == "" {
		role = owner.Role
	}
	if !role.Valid() {
		return Token{}, "", invalid("role %q: operator, supervisor or admin", role)
	}
	if !owner.Role.Allows(role) {
		return Token{}, "", ErrRoleTooHigh
	}
	if name == "" || len(name) > maxTokenName || checkDisplayName(name) != nil {
		return Token{}, "", invalid("name: 1 to %d printable bytes", maxTokenName)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	if !expires.IsZero() && !expires.After(now) {
		return Token{}, "", invalid("expires is in the past")
	}
	idb, sec := make([]byte, tokenIDLen/2), make([]byte, 32)
	if _, err := rand.Read(idb); err != nil {
		return Token{}, "", err
	}
	if _, err := rand.Read(sec); err != nil {
		return Token{}, "", err
	}
	id, secret := hex.EncodeToString(idb), base64.RawURLEncoding.EncodeToString(sec)
	t := store.Token{ID: id, Hash: hashHex(secret), Name: name, Account: owner.Account, Role: string(role),
		CreatedAt: now, Expires: expires.UTC().Truncate(time.Microsecond)}
	if err := s.st.AddToken(ctx, t); err != nil {
		return Token{}, "", storeErr(err)
	}
	return tokenView(t), tokenPrefix + id + "_" + secret, nil
}

// TokenPrincipal returns the caller of a bearer token: its role is the
// token's, capped by its owner's role now; a disabled or deleted owner,
// an expired or revoked token answer ErrBadCredentials.
func (s *Service) TokenPrincipal(ctx context.Context, value string) (Principal, error) {
	id, secret, ok := ParseToken(value)
	if !ok {
		return Principal{}, ErrBadCredentials
	}
	t, err := s.st.Token(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrBadCredentials
	}
	if err != nil {
		return Principal{}, err
	}
	if subtle.ConstantTimeCompare([]byte(hashHex(secret)), []byte(t.Hash)) != 1 {
		return Principal{}, ErrBadCredentials
	}
	if !t.Expires.IsZero() && !s.now().Before(t.Expires) {
		return Principal{}, ErrBadCredentials
	}
	a, err := s.st.Account(ctx, t.Account)
	if err != nil || a.Disabled {
		return Principal{}, ErrBadCredentials
	}
	p := principalOf(a, "token")
	if Role(a.Role).Allows(Role(t.Role)) {
		p.Role = Role(t.Role)
	}
	return p, nil
}

// Tokens lists the tokens the caller may see: an admin's view is every
// token, anyone else's their own.
func (s *Service) Tokens(ctx context.Context, caller Principal) ([]Token, error) {
	owner := caller.Account
	if caller.Role.Allows(RoleAdmin) {
		owner = ""
	}
	ts, err := s.st.Tokens(ctx, owner)
	if err != nil {
		return nil, err
	}
	out := make([]Token, 0, len(ts))
	for _, t := range ts {
		out = append(out, tokenView(t))
	}
	return out, nil
}

// RevokeToken deletes a token of the caller's, or any token for an
// admin. Someone else's token is ErrNotFound, not ErrForbidden: ids of
// other accounts' tokens are not confirmed.
func (s *Service) RevokeToken(ctx context.Context, caller Principal, id string) error {
	t, err := s.st.Token(ctx, id)
	if err != nil {
		return storeErr(err)
	}
	if t.Account != caller.Account && !caller.Role.Allows(RoleAdmin) {
		return fmt.Errorf("token %q: %w", id, ErrNotFound)
	}
	return storeErr(s.st.DeleteToken(ctx, id))
}
