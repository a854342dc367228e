package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

const contactColumns = `id, name, numbers, company, email, notes, created_at, updated_at`

// AddContacts stores new contacts in one transaction and returns them with
// their IDs.
func (s *Store) AddContacts(ctx context.Context, cs []store.Contact) ([]store.Contact, error) {
	out := make([]store.Contact, 0, len(cs))
	for _, c := range cs {
		n, err := c.Normalize()
		if err != nil {
			return nil, fmt.Errorf("add contacts: %w", err)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return out, nil
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO contacts (name, numbers, company, email, notes, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range out {
			c := &out[i]
			res, err := stmt.ExecContext(ctx, c.Name, strings.Join(c.Numbers, "\n"), c.Company, c.Email, c.Notes, micros(now), micros(now))
			if err != nil {
				return fmt.Errorf("contact %q: %w", c.Name, err)
			}
			if c.ID, err = res.LastInsertId(); err != nil {
				return err
			}
			c.CreatedAt, c.UpdatedAt = now, now
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("add contacts: %w", err)
	}
	return out, nil
}

// Contact returns one contact.
func (s *Store) Contact(ctx context.Context, id int64) (store.Contact, error) {
	c, err := scanContact(s.r.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contacts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Contact{}, fmt.Errorf("contact %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Contact{}, fmt.Errorf("contact %d: %w", id, err)
	}
	return c, nil
}

// UpdateContact replaces contact c.ID.
func (s *Store) UpdateContact(ctx context.Context, c store.Contact) (store.Contact, error) {
	n, err := c.Normalize()
	if err != nil {
		return store.Contact{}, fmt.Errorf("update contact %d: %w", c.ID, err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	res, err := s.w.ExecContext(ctx, `UPDATE contacts SET name = ?, numbers = ?, company = ?, email = ?, notes = ?, updated_at = ? WHERE id = ?`,
		n.Name, strings.Join(n.Numbers, "\n"), n.Company, n.Email, n.Notes, micros(now), n.ID)
	if err != nil {
		return store.Contact{}, fmt.Errorf("update contact %d: %w", c.ID, err)
	}
	if k, err := res.RowsAffected(); err != nil {
		return store.Contact{}, fmt.Errorf("update contact %d: %w", c.ID, err)
	} else if k == 0 {
		return store.Contact{}, fmt.Errorf("update contact %d: %w", c.ID, store.ErrNotFound)
	}
	return s.Contact(ctx, n.ID)
}

// DeleteContact removes a contact.
func (s *Store) DeleteContact(ctx context.Context, id int64) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM contacts WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete contact %d: %w", id, err)
	}
	if k, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete contact %d: %w", id, err)
	} else if k == 0 {
		return fmt.Errorf("delete contact %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// SearchContacts returns the contacts q selects, by name then ID.
func (s *Store) SearchContacts(ctx context.Context, q store.ContactQuery) ([]store.Contact, error) {
	if q.Limit < 1 || q.Limit > store.MaxContactLimit {
		return nil, fmt.Errorf("search contacts: limit %d out of range 1..%d: %w", q.Limit, store.MaxContactLimit, store.ErrInvalid)
	}
	query := `SELECT ` + contactColumns + ` FROM contacts`
	var args []any
	if t := strings.TrimSpace(q.Text); t != "" {
		like := "%" + escapeLike(t) + "%"
		query += ` WHERE name LIKE ? ESCAPE '\' OR company LIKE ? ESCAPE '\' OR email LIKE ? ESCAPE '\' OR numbers LIKE ? ESCAPE '\'`
		args = append(args, like, like, like)
		if n, ok := store.NormalizeNumber(t); ok {
			args = append(args, "%"+escapeLike(n)+"%")
		} else {
			args = append(args, like)
		}
	}
	query += ` ORDER BY name COLLATE NOCASE, id LIMIT ?`
	args = append(args, q.Limit)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("search contacts: %w", err)
	}
	defer rows.Close()
	out := []store.Contact{}
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, fmt.Errorf("search contacts: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search contacts: %w", err)
	}
	return out, nil
}

// escapeLike escapes the LIKE wildcards % and _ and the escape itself.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func scanContact(sc scanner) (store.Contact, error) {
	var c store.Contact
	var nums string
	var created, updated int64
	err := sc.Scan(&c.ID, &c.Name, &nums, &c.Company, &c.Email, &c.Notes, &created, &updated)
	if nums != "" {
		c.Numbers = strings.Split(nums, "\n")
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, err
}
