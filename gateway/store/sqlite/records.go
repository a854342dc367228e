package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
	"github.com/switchboard-gw/switchboard/gateway/store"
)

const recordColumns = `id, call_id, direction, caller, callee, target, trunk, answered_by,
	diverted_to, setup, answer, end_time, status, cause, ended_by, media_a, media_b,
	transferred_to, attended`

// AddRecords stores records in one transaction; IDs already stored are
// skipped.
func (s *Store) AddRecords(ctx context.Context, records []cdr.Record) error {
	for _, r := range records {
		if err := store.ValidateRecord(r); err != nil {
			return fmt.Errorf("add records: %w", err)
		}
	}
	if len(records) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO call_records (`+recordColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range records {
			ma, err := json.Marshal(r.MediaA)
			if err != nil {
				return err
			}
			mb, err := json.Marshal(r.MediaB)
			if err != nil {
				return err
			}
			if _, err := stmt.ExecContext(ctx, r.ID, r.CallID, string(r.Direction), r.Caller,
				r.Callee, r.Target, r.Trunk, r.AnsweredBy, r.DivertedTo, micros(r.Setup),
				micros(r.Answer), micros(r.End), r.Status, r.Cause, r.EndedBy,
				string(ma), string(mb), r.TransferredTo, r.Attended); err != nil {
				return fmt.Errorf("record %q: %w", r.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add records: %w", err)
	}
	return nil
}

// CallHistory returns the records q selects, newest first.
func (s *Store) CallHistory(ctx context.Context, q store.CallQuery) ([]cdr.Record, error) {
	q, err := q.Normalize()
	if err != nil {
		return nil, err
	}
	// Each party column has its own (column, setup) index: one
	// newest-first, limited scan per column, merged, is much cheaper
	// than an OR over all four followed by a sort of every match.
	var before string
	var beforeArgs []any
	if !q.Before.IsZero() {
		if q.BeforeID != "" {
			before = " AND (setup < ? OR (setup = ? AND id < ?))"
			beforeArgs = []any{micros(q.Before), micros(q.Before), q.BeforeID}
		} else {
			before = " AND setup < ?"
			beforeArgs = []any{micros(q.Before)}
		}
	}
	var (
		query string
		args  []any
	)
	if len(q.Parties) == 0 {
		query = `SELECT ` + recordColumns + ` FROM call_records WHERE 1` + before +
			` ORDER BY setup DESC, id DESC LIMIT ?`
		args = append(append(args, beforeArgs...), q.Limit)
	} else {
		in := strings.TrimSuffix(strings.Repeat("?, ", len(q.Parties)), ", ")
		var parts []string
		for _, col := range []string{"caller", "callee", "target", "answered_by"} {
			parts = append(parts, `SELECT * FROM (SELECT rowid AS rid FROM call_records WHERE `+col+` IN (`+in+`)`+before+
				` ORDER BY setup DESC, id DESC LIMIT ?)`)
			for _, p := range q.Parties {
				args = append(args, p)
			}
			args = append(append(args, beforeArgs...), q.Limit)
		}
		query = `SELECT ` + recordColumns + ` FROM call_records WHERE rowid IN (` +
			strings.Join(parts, " UNION ") + `) ORDER BY setup DESC, id DESC LIMIT ?`
		args = append(args, q.Limit)
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("call history: %w", err)
	}
	defer rows.Close()
	var out []cdr.Record
	for rows.Next() {
		var (
			r                  cdr.Record
			dir, ma, mb        string
			setup, answer, end int64
		)
		if err := rows.Scan(&r.ID, &r.CallID, &dir, &r.Caller, &r.Callee, &r.Target, &r.Trunk,
			&r.AnsweredBy, &r.DivertedTo, &setup, &answer, &end, &r.Status, &r.Cause,
			&r.EndedBy, &ma, &mb, &r.TransferredTo, &r.Attended); err != nil {
			return nil, fmt.Errorf("call history: %w", err)
		}
		r.Direction = cdr.Direction(dir)
		r.Setup, r.Answer, r.End = fromMicros(setup), fromMicros(answer), fromMicros(end)
		if err := json.Unmarshal([]byte(ma), &r.MediaA); err != nil {
			return nil, fmt.Errorf("call history: record %q media_a: %w", r.ID, err)
		}
		if err := json.Unmarshal([]byte(mb), &r.MediaB); err != nil {
			return nil, fmt.Errorf("call history: record %q media_b: %w", r.ID, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("call history: %w", err)
	}
	return out, nil
}

// DeleteRecordsBefore removes the records set up before t.
func (s *Store) DeleteRecordsBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM call_records WHERE setup < ?`, micros(t))
	if err != nil {
		return 0, fmt.Errorf("delete records: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete records: %w", err)
	}
	return int(n), nil
}
