package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

const userColumns = `username, display_name, extension, realm, ha1_md5, ha1_sha256, created_at, updated_at`

// PutUsers inserts or replaces users in one transaction. A replaced user
// keeps its CreatedAt.
func (s *Store) PutUsers(ctx context.Context, users []store.User) error {
	return s.writeUsers(ctx, "put users", users,
		`INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (username) DO UPDATE SET
			display_name = excluded.display_name,
			extension    = excluded.extension,
			realm        = excluded.realm,
			ha1_md5      = excluded.ha1_md5,
			ha1_sha256   = excluded.ha1_sha256,
			updated_at   = excluded.updated_at`)
}

// AddUsers inserts users in one transaction; if any exists already, nothing
// is stored and the error wraps store.ErrExists and names the user.
func (s *Store) AddUsers(ctx context.Context, users []store.User) error {
	return s.writeUsers(ctx, "add users", users,
		`INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (username) DO NOTHING`)
}

// writeUsers runs insert once per user in one transaction. An insert that
// changes no row can only be AddUsers meeting an existing user.
func (s *Store) writeUsers(ctx context.Context, op string, users []store.User, insert string) error {
	for _, u := range users {
		if err := validUser(u); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	if len(users) == 0 {
		return nil
	}
	now := time.Now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, insert)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, u := range users {
			created := u.CreatedAt
			if created.IsZero() {
				created = now
			}
			res, err := stmt.ExecContext(ctx, u.Username, u.DisplayName, u.Extension, u.Realm,
				u.HA1MD5, u.HA1SHA256, micros(created), micros(now))
			if err != nil {
				return fmt.Errorf("user %q: %w", u.Username, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return fmt.Errorf("user %q: %w", u.Username, store.ErrExists)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// validUser checks what the schema cannot.
func validUser(u store.User) error {
	switch {
	case u.Username == "":
		return fmt.Errorf("empty username: %w", store.ErrInvalid)
	case u.Realm == "":
		return fmt.Errorf("user %q: empty realm: %w", u.Username, store.ErrInvalid)
	case u.HA1MD5 == "" || u.HA1SHA256 == "":
		return fmt.Errorf("user %q: missing ha1: %w", u.Username, store.ErrInvalid)
	}
	return nil
}

// User returns one user, or an error wrapping store.ErrNotFound.
func (s *Store) User(ctx context.Context, username string) (store.User, error) {
	row := s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username = ?`, username)
	u, err := scanUser(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, fmt.Errorf("user %q: %w", username, store.ErrNotFound)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("user %q: %w", username, err)
	}
	return u, nil
}

// Users returns every user sorted by username.
func (s *Store) Users(ctx context.Context) ([]store.User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	return out, nil
}

// DeleteUser removes a user, or returns an error wrapping store.ErrNotFound.
func (s *Store) DeleteUser(ctx context.Context, username string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM users WHERE username = ?`, username)
	if err != nil {
		return fmt.Errorf("delete user %q: %w", username, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete user %q: %w", username, err)
	} else if n == 0 {
		return fmt.Errorf("delete user %q: %w", username, store.ErrNotFound)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanUser(sc scanner) (store.User, error) {
	var u store.User
	var created, updated int64
	err := sc.Scan(&u.Username, &u.DisplayName, &u.Extension, &u.Realm,
		&u.HA1MD5, &u.HA1SHA256, &created, &updated)
	u.CreatedAt, u.UpdatedAt = fromMicros(created), fromMicros(updated)
	return u, err
}

// micros encodes t for the database; the zero time is 0.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros decodes a time written by micros, in UTC.
func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}
