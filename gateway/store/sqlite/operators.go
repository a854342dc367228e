package sqlite

import (
	"context"
	"fmt"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

// OperatorStates returns every stored operator state, by account.
func (s *Store) OperatorStates(ctx context.Context) ([]store.OperatorState, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT account, state, reason, since FROM operator_states ORDER BY account`)
	if err != nil {
		return nil, fmt.Errorf("operator states: %w", err)
	}
	defer rows.Close()
	var out []store.OperatorState
	for rows.Next() {
		var o store.OperatorState
		var since int64
		if err := rows.Scan(&o.Account, &o.State, &o.Reason, &since); err != nil {
			return nil, fmt.Errorf("operator states: %w", err)
		}
		o.Since = fromMicros(since)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("operator states: %w", err)
	}
	return out, nil
}

// PutOperatorState stores the state of o.Account.
func (s *Store) PutOperatorState(ctx context.Context, o store.OperatorState) error {
	if o.Account == "" {
		return fmt.Errorf("put operator state: no account: %w", store.ErrInvalid)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO operator_states (account, state, reason, since) VALUES (?, ?, ?, ?)
		ON CONFLICT (account) DO UPDATE SET state = excluded.state, reason = excluded.reason, since = excluded.since`,
		o.Account, o.State, o.Reason, micros(o.Since))
	if err != nil {
		return fmt.Errorf("put operator state %s: %w", o.Account, err)
	}
	return nil
}

// DeleteOperatorState forgets an account's state.
func (s *Store) DeleteOperatorState(ctx context.Context, account string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM operator_states WHERE account = ?`, account); err != nil {
		return fmt.Errorf("delete operator state %s: %w", account, err)
	}
	return nil
}

// UserPresences returns every stored user presence, by device.
func (s *Store) UserPresences(ctx context.Context) ([]store.UserPresence, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT device, presence, updated_at FROM user_presence ORDER BY device`)
	if err != nil {
		return nil, fmt.Errorf("user presences: %w", err)
	}
	defer rows.Close()
	var out []store.UserPresence
	for rows.Next() {
		var p store.UserPresence
		var at int64
		if err := rows.Scan(&p.Device, &p.Presence, &at); err != nil {
			return nil, fmt.Errorf("user presences: %w", err)
		}
		p.UpdatedAt = fromMicros(at)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("user presences: %w", err)
	}
	return out, nil
}

// PutUserPresence stores p, or deletes the device's when p.Presence is
// empty.
func (s *Store) PutUserPresence(ctx context.Context, p store.UserPresence) error {
	if p.Device == "" {
		return fmt.Errorf("put user presence: no device: %w", store.ErrInvalid)
	}
	var err error
	if p.Presence == "" {
		_, err = s.w.ExecContext(ctx, `DELETE FROM user_presence WHERE device = ?`, p.Device)
	} else {
		_, err = s.w.ExecContext(ctx, `INSERT INTO user_presence (device, presence, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (device) DO UPDATE SET presence = excluded.presence, updated_at = excluded.updated_at`,
			p.Device, p.Presence, micros(p.UpdatedAt))
	}
	if err != nil {
		return fmt.Errorf("put user presence %s: %w", p.Device, err)
	}
	return nil
}
