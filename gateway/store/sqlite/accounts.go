package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

const accountColumns = `name, display_name, role, groups_json, device, password_hash, disabled, created_at, updated_at`

// AddAccount inserts an account; an existing name wraps store.ErrExists.
func (s *Store) AddAccount(ctx context.Context, a store.Account) error {
	if err := validAccount(a); err != nil {
		return fmt.Errorf("add account: %w", err)
	}
	groups, err := groupsJSON(a.Groups)
	if err != nil {
		return fmt.Errorf("add account %q: %w", a.Name, err)
	}
	now := time.Now()
	created := a.CreatedAt
	if created.IsZero() {
		created = now
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO accounts (`+accountColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO NOTHING`,
		a.Name, a.DisplayName, a.Role, groups, a.Device, a.PasswordHash, a.Disabled, micros(created), micros(now))
	if err != nil {
		return fmt.Errorf("add account %q: %w", a.Name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("add account %q: %w", a.Name, err)
	} else if n == 0 {
		return fmt.Errorf("add account %q: %w", a.Name, store.ErrExists)
	}
	return nil
}

// UpdateAccount replaces an account's fields but CreatedAt.
func (s *Store) UpdateAccount(ctx context.Context, a store.Account) error {
	if err := validAccount(a); err != nil {
		return fmt.Errorf("update account: %w", err)
	}
	groups, err := groupsJSON(a.Groups)
	if err != nil {
		return fmt.Errorf("update account %q: %w", a.Name, err)
	}
	res, err := s.w.ExecContext(ctx, `UPDATE accounts SET display_name = ?, role = ?, groups_json = ?, device = ?,
		password_hash = ?, disabled = ?, updated_at = ? WHERE name = ?`,
		a.DisplayName, a.Role, groups, a.Device, a.PasswordHash, a.Disabled, micros(time.Now()), a.Name)
	if err != nil {
		return fmt.Errorf("update account %q: %w", a.Name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update account %q: %w", a.Name, err)
	} else if n == 0 {
		return fmt.Errorf("update account %q: %w", a.Name, store.ErrNotFound)
	}
	return nil
}

// Account returns one account.
func (s *Store) Account(ctx context.Context, name string) (store.Account, error) {
	a, err := scanAccount(s.r.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("account %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("account %q: %w", name, err)
	}
	return a, nil
}

// Accounts returns every account sorted by name.
func (s *Store) Accounts(ctx context.Context) ([]store.Account, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	defer rows.Close()
	var out []store.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	return out, nil
}

// DeleteAccount removes an account with its sessions and tokens.
func (s *Store) DeleteAccount(ctx context.Context, name string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM account_sessions WHERE account = ?`, name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE account = ?`, name); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM accounts WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete account %q: %w", name, err)
	}
	return nil
}

func scanAccount(sc scanner) (store.Account, error) {
	var a store.Account
	var groups string
	var created, updated int64
	if err := sc.Scan(&a.Name, &a.DisplayName, &a.Role, &groups, &a.Device, &a.PasswordHash, &a.Disabled,
		&created, &updated); err != nil {
		return a, err
	}
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	if err := json.Unmarshal([]byte(groups), &a.Groups); err != nil {
		return a, fmt.Errorf("account %q groups: %w", a.Name, err)
	}
	if len(a.Groups) == 0 {
		a.Groups = nil
	}
	return a, nil
}

func groupsJSON(groups []string) (string, error) {
	g := append([]string{}, groups...)
	sort.Strings(g)
	b, err := json.Marshal(g)
	return string(b), err
}

func validAccount(a store.Account) error {
	switch {
	case a.Name == "":
		return fmt.Errorf("empty account name: %w", store.ErrInvalid)
	case a.Role == "":
		return fmt.Errorf("account %q: empty role: %w", a.Name, store.ErrInvalid)
	case a.PasswordHash == "":
		return fmt.Errorf("account %q: empty password hash: %w", a.Name, store.ErrInvalid)
	}
	return nil
}

// PutSession inserts a session.
func (s *Store) PutSession(ctx context.Context, se store.Session) error {
	if se.IDHash == "" || se.Account == "" {
		return fmt.Errorf("put session: empty id hash or account: %w", store.ErrInvalid)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO account_sessions (id_hash, account, source, created_at, last_seen)
		VALUES (?, ?, ?, ?, ?)`, se.IDHash, se.Account, se.Source, micros(se.CreatedAt), micros(se.LastSeen))
	if err != nil {
		if strings.Contains(err.Error(), "FOREIGN KEY") {
			return fmt.Errorf("put session for %q: %w", se.Account, store.ErrNotFound)
		}
		return fmt.Errorf("put session for %q: %w", se.Account, err)
	}
	return nil
}

// Session returns one session by its id hash.
func (s *Store) Session(ctx context.Context, idHash string) (store.Session, error) {
	var se store.Session
	var created, seen int64
	err := s.r.QueryRowContext(ctx, `SELECT id_hash, account, source, created_at, last_seen FROM account_sessions
		WHERE id_hash = ?`, idHash).Scan(&se.IDHash, &se.Account, &se.Source, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return se, fmt.Errorf("session: %w", store.ErrNotFound)
	}
	if err != nil {
		return se, fmt.Errorf("session: %w", err)
	}
	se.CreatedAt, se.LastSeen = fromMicros(created), fromMicros(seen)
	return se, nil
}

// TouchSession sets a session's LastSeen.
func (s *Store) TouchSession(ctx context.Context, idHash string, at time.Time) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE account_sessions SET last_seen = ? WHERE id_hash = ?`, micros(at), idHash); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteSession removes one session.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM account_sessions WHERE id_hash = ?`, idHash)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete session: %w", err)
	} else if n == 0 {
		return fmt.Errorf("delete session: %w", store.ErrNotFound)
	}
	return nil
}

// DeleteAccountSessions removes every session of account.
func (s *Store) DeleteAccountSessions(ctx context.Context, account string) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM account_sessions WHERE account = ?`, account)
	if err != nil {
		return 0, fmt.Errorf("delete sessions of %q: %w", account, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// DeleteStaleSessions removes idle and too old sessions.
func (s *Store) DeleteStaleSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM account_sessions WHERE last_seen < ? OR created_at < ?`,
		micros(idleBefore), micros(createdBefore))
	if err != nil {
		return 0, fmt.Errorf("delete stale sessions: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// LiveSessions counts live sessions per account.
func (s *Store) LiveSessions(ctx context.Context, idleAfter, createdAfter time.Time) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT account, COUNT(*) FROM account_sessions
		WHERE last_seen >= ? AND created_at >= ? GROUP BY account`, micros(idleAfter), micros(createdAfter))
	if err != nil {
		return nil, fmt.Errorf("live sessions: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var a string
		var n int
		if err := rows.Scan(&a, &n); err != nil {
			return nil, fmt.Errorf("live sessions: %w", err)
		}
		out[a] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("live sessions: %w", err)
	}
	return out, nil
}

const tokenColumns = `id, hash, name, account, role, created_at, expires`

// AddToken inserts a token.
func (s *Store) AddToken(ctx context.Context, t store.Token) error {
	if t.ID == "" || t.Hash == "" || t.Account == "" || t.Role == "" {
		return fmt.Errorf("add token: empty id, hash, account or role: %w", store.ErrInvalid)
	}
	created := t.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO api_tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, t.ID, t.Hash, t.Name, t.Account, t.Role, micros(created), micros(t.Expires))
	if err != nil {
		if strings.Contains(err.Error(), "FOREIGN KEY") {
			return fmt.Errorf("add token for %q: %w", t.Account, store.ErrNotFound)
		}
		return fmt.Errorf("add token: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("add token: %w", err)
	} else if n == 0 {
		return fmt.Errorf("add token %q: %w", t.ID, store.ErrExists)
	}
	return nil
}

// Token returns one token.
func (s *Store) Token(ctx context.Context, id string) (store.Token, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("token %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("token %q: %w", id, err)
	}
	return t, nil
}

// Tokens returns the tokens of account ("" = all), sorted by id.
func (s *Store) Tokens(ctx context.Context, account string) ([]store.Token, error) {
	q, args := `SELECT `+tokenColumns+` FROM api_tokens ORDER BY id`, []any{}
	if account != "" {
		q, args = `SELECT `+tokenColumns+` FROM api_tokens WHERE account = ? ORDER BY id`, []any{account}
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return out, nil
}

// DeleteToken removes a token.
func (s *Store) DeleteToken(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete token %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete token %q: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("delete token %q: %w", id, store.ErrNotFound)
	}
	return nil
}

func scanToken(sc scanner) (store.Token, error) {
	var t store.Token
	var created, expires int64
	err := sc.Scan(&t.ID, &t.Hash, &t.Name, &t.Account, &t.Role, &created, &expires)
	t.CreatedAt, t.Expires = fromMicros(created), fromMicros(expires)
	return t, err
}
