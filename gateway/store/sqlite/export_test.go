package sqlite

import (
	"context"
	"fmt"
)

// ExecForTest runs a statement on the write connection.
func (s *Store) ExecForTest(ctx context.Context, query string) error {
	_, err := s.w.ExecContext(ctx, query)
	return err
}

// Pragmas reads the settings Open promises, from the write connection.
func (s *Store) Pragmas(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range []string{"journal_mode", "synchronous", "foreign_keys", "busy_timeout"} {
		var v string
		if err := s.w.QueryRowContext(ctx, "PRAGMA "+p).Scan(&v); err != nil {
			return nil, fmt.Errorf("pragma %s: %w", p, err)
		}
		out[p] = v
	}
	return out, nil
}

// SchemaVersions is the schema version a fresh database has.
var SchemaVersions = len(migrations)
