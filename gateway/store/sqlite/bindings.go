package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

const (
	putBindingSQL = `INSERT OR REPLACE INTO bindings (` + bindingColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	delBindingSQL = `DELETE FROM bindings WHERE aor = ? AND key = ?`
)

const bindingColumns = `aor, key, contact_uri, params, q, expires, call_id, cseq, instance_id,
	reg_id, path, source, transport, local_addr, user_agent, updated_at`

// ApplyBindings applies changes in order in one transaction.
func (s *Store) ApplyBindings(ctx context.Context, changes []store.BindingChange) error {
	for _, c := range changes {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("apply bindings: %w", err)
		}
	}
	if len(changes) == 0 {
		return nil
	}
	now := time.Now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		put := tx.StmtContext(ctx, s.putBinding)
		del := tx.StmtContext(ctx, s.delBinding)
		defer put.Close()
		defer del.Close()
		for _, c := range changes {
			var err error
			if c.Put != nil {
				err = putBinding(ctx, put, c.Put, now)
			} else {
				_, err = del.ExecContext(ctx, c.Delete.AOR, c.Delete.Key)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apply bindings: %w", err)
	}
	return nil
}

func putBinding(ctx context.Context, stmt *sql.Stmt, b *store.Binding, now time.Time) error {
	path := ""
	if len(b.Path) > 0 {
		p, err := json.Marshal(b.Path)
		if err != nil {
			return err
		}
		path = string(p)
	}
	updated := b.UpdatedAt
	if updated.IsZero() {
		updated = now
	}
	_, err := stmt.ExecContext(ctx, b.AOR, b.Key(), b.ContactURI, b.Params, float64(b.Q),
		micros(b.Expires), b.CallID, int64(b.CSeq), b.InstanceID, b.RegID, path,
		b.Source, b.Transport, b.LocalAddr, b.UserAgent, micros(updated))
	if err != nil {
		return fmt.Errorf("put binding %s %s: %w", b.AOR, b.Key(), err)
	}
	return nil
}

// Bindings returns every stored binding sorted by AOR and key.
func (s *Store) Bindings(ctx context.Context) ([]store.Binding, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+bindingColumns+` FROM bindings ORDER BY aor, key`)
	if err != nil {
		return nil, fmt.Errorf("bindings: %w", err)
	}
	defer rows.Close()
	var out []store.Binding
	for rows.Next() {
		var (
			b                        store.Binding
			key, path                string
			q                        float64
			expires, cseq, updatedAt int64
		)
		if err := rows.Scan(&b.AOR, &key, &b.ContactURI, &b.Params, &q, &expires, &b.CallID,
			&cseq, &b.InstanceID, &b.RegID, &path, &b.Source, &b.Transport, &b.LocalAddr,
			&b.UserAgent, &updatedAt); err != nil {
			return nil, fmt.Errorf("bindings: %w", err)
		}
		b.Q = float32(q)
		b.Expires = fromMicros(expires)
		b.CSeq = uint32(cseq)
		b.UpdatedAt = fromMicros(updatedAt)
		if path != "" {
			if err := json.Unmarshal([]byte(path), &b.Path); err != nil {
				return nil, fmt.Errorf("bindings: %s %s: path: %w", b.AOR, key, err)
			}
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("bindings: %w", err)
	}
	return out, nil
}

// DeleteExpiredBindings removes the bindings whose expiry is not after now.
func (s *Store) DeleteExpiredBindings(ctx context.Context, now time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM bindings WHERE expires <= ?`, micros(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired bindings: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete expired bindings: %w", err)
	}
	return int(n), nil
}

// PutBan inserts or replaces the ban for b.IP.
func (s *Store) PutBan(ctx context.Context, b store.Ban) error {
	if b.IP == "" {
		return fmt.Errorf("put ban: empty ip: %w", store.ErrInvalid)
	}
	created := b.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	_, err := s.w.ExecContext(ctx,
		`INSERT OR REPLACE INTO bans (ip, reason, until, created_at) VALUES (?, ?, ?, ?)`,
		b.IP, b.Reason, micros(b.Until), micros(created))
	if err != nil {
		return fmt.Errorf("put ban %s: %w", b.IP, err)
	}
	return nil
}

// DeleteBan lifts a ban, or returns an error wrapping store.ErrNotFound.
func (s *Store) DeleteBan(ctx context.Context, ip string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM bans WHERE ip = ?`, ip)
	if err != nil {
		return fmt.Errorf("delete ban %s: %w", ip, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete ban %s: %w", ip, err)
	} else if n == 0 {
		return fmt.Errorf("delete ban %s: %w", ip, store.ErrNotFound)
	}
	return nil
}

// Bans returns the bans active at now, sorted by IP.
func (s *Store) Bans(ctx context.Context, now time.Time) ([]store.Ban, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT ip, reason, until, created_at FROM bans
		 WHERE until = 0 OR until > ? ORDER BY ip`, micros(now))
	if err != nil {
		return nil, fmt.Errorf("bans: %w", err)
	}
	defer rows.Close()
	var out []store.Ban
	for rows.Next() {
		var b store.Ban
		var until, created int64
		if err := rows.Scan(&b.IP, &b.Reason, &until, &created); err != nil {
			return nil, fmt.Errorf("bans: %w", err)
		}
		b.Until, b.CreatedAt = fromMicros(until), fromMicros(created)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("bans: %w", err)
	}
	return out, nil
}
