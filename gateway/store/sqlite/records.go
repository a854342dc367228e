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
		many := tx.StmtContext(ctx, s.addRecords)
		one := tx.StmtContext(ctx, s.addRecord)
		args := make([]any, 0, recordsPerInsert*recordFields)
		for len(records) > 0 {
			stmt, n := many, recordsPerInsert
			if len(records) < recordsPerInsert {
				stmt, n = one, 1
			}
			args = args[:0]
			for _, r := range records[:n] {
				var err error
				if args, err = appendRecordArgs(args, r); err != nil {
					return err
				}
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				if n == 1 {
					return fmt.Errorf("record %q: %w", records[0].ID, err)
				}
				return fmt.Errorf("records %q to %q: %w", records[0].ID, records[n-1].ID, err)
			}
			records = records[n:]
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add records: %w", err)
	}
	return nil
}

// recordsPerInsert is how many records one prepared multi-row INSERT
// carries: one statement execution (database/sql's call, the bind, the
// VDBE run) instead of one per record, prepared once. A batch's rest
// goes one record at a time.
const recordsPerInsert = 16

// recordFields is the number of columns in recordColumns.
const recordFields = 19

// insertRecordsSQL is the INSERT of n records; IDs already stored are
// skipped.
func insertRecordsSQL(n int) string {
	row := "(" + strings.Repeat("?, ", recordFields-1) + "?)"
	return `INSERT INTO call_records (` + recordColumns + `) VALUES ` +
		strings.Repeat(row+", ", n-1) + row + ` ON CONFLICT (id) DO NOTHING`
}

// appendRecordArgs appends r's values in recordColumns order.
func appendRecordArgs(args []any, r cdr.Record) ([]any, error) {
	ma, err := json.Marshal(r.MediaA)
	if err != nil {
		return args, err
	}
	mb, err := json.Marshal(r.MediaB)
	if err != nil {
		return args, err
	}
	return append(args, r.ID, r.CallID, string(r.Direction), r.Caller,
		r.Callee, r.Target, r.Trunk, r.AnsweredBy, r.DivertedTo, micros(r.Setup),
		micros(r.Answer), micros(r.End), r.Status, r.Cause, r.EndedBy,
		string(ma), string(mb), r.TransferredTo, r.Attended), nil
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
