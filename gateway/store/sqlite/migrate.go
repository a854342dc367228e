package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// migrations are the schema, one step per schema version: migrations[0]
// takes an empty database to version 1, and so on. Never edit a step that has
// shipped; append a new one.
//
// Times are INTEGER microseconds since the Unix epoch, UTC (the precision
// PostgreSQL keeps too); 0 stands for the zero time.
var migrations = []string{
	// 1: users, bindings, bans, settings.
	`CREATE TABLE users (
		username     TEXT PRIMARY KEY NOT NULL,
		display_name TEXT NOT NULL DEFAULT '',
		extension    TEXT NOT NULL DEFAULT '',
		realm        TEXT NOT NULL,
		ha1_md5      TEXT NOT NULL,
		ha1_sha256   TEXT NOT NULL,
		created_at   INTEGER NOT NULL,
		updated_at   INTEGER NOT NULL
	) WITHOUT ROWID;

	CREATE TABLE bindings (
		aor         TEXT NOT NULL,
		key         TEXT NOT NULL,
		contact_uri TEXT NOT NULL,
		params      TEXT NOT NULL DEFAULT '',
		q           REAL NOT NULL DEFAULT -1,
		expires     INTEGER NOT NULL,
		call_id     TEXT NOT NULL DEFAULT '',
		cseq        INTEGER NOT NULL DEFAULT 0,
		instance_id TEXT NOT NULL DEFAULT '',
		reg_id      INTEGER NOT NULL DEFAULT 0,
		path        TEXT NOT NULL DEFAULT '',
		source      TEXT NOT NULL DEFAULT '',
		transport   TEXT NOT NULL DEFAULT '',
		local_addr  TEXT NOT NULL DEFAULT '',
		user_agent  TEXT NOT NULL DEFAULT '',
		updated_at  INTEGER NOT NULL,
		PRIMARY KEY (aor, key)
	) WITHOUT ROWID;
	CREATE INDEX bindings_expires ON bindings (expires);

	CREATE TABLE bans (
		ip         TEXT PRIMARY KEY NOT NULL,
		reason     TEXT NOT NULL DEFAULT '',
		until      INTEGER NOT NULL,
		created_at INTEGER NOT NULL
	) WITHOUT ROWID;

	CREATE TABLE settings (
		key   TEXT PRIMARY KEY NOT NULL,
		value TEXT NOT NULL
	) WITHOUT ROWID;`,

	// 2: call detail records (issue 5). Media counters are JSON objects
	// (cdr.Media), read back whole.
	`CREATE TABLE call_records (
		id          TEXT PRIMARY KEY NOT NULL,
		call_id     TEXT NOT NULL DEFAULT '',
		direction   TEXT NOT NULL DEFAULT '',
		caller      TEXT NOT NULL DEFAULT '',
		callee      TEXT NOT NULL DEFAULT '',
		target      TEXT NOT NULL DEFAULT '',
		trunk       TEXT NOT NULL DEFAULT '',
		answered_by TEXT NOT NULL DEFAULT '',
		diverted_to TEXT NOT NULL DEFAULT '',
		setup       INTEGER NOT NULL,
		answer      INTEGER NOT NULL,
		end_time    INTEGER NOT NULL,
		status      INTEGER NOT NULL DEFAULT 0,
		cause       TEXT NOT NULL DEFAULT '',
		ended_by    TEXT NOT NULL DEFAULT '',
		media_a     TEXT NOT NULL DEFAULT '{}',
		media_b     TEXT NOT NULL DEFAULT '{}'
	);
	CREATE INDEX call_records_setup ON call_records (setup, id);
	CREATE INDEX call_records_caller ON call_records (caller, setup);
	CREATE INDEX call_records_callee ON call_records (callee, setup);
	CREATE INDEX call_records_target ON call_records (target, setup);
	CREATE INDEX call_records_answered_by ON call_records (answered_by, setup);`,

	// 3: who a transfer (REFER) connected in place of the transferor.
	`ALTER TABLE call_records ADD COLUMN transferred_to TEXT NOT NULL DEFAULT '';
	ALTER TABLE call_records ADD COLUMN attended INTEGER NOT NULL DEFAULT 0;`,

	// 4: accounts of the HTTPS side, their sessions and API tokens
	// (issue 14). Groups are a JSON array. Sessions and tokens keep only
	// hashes of their secrets.
	`CREATE TABLE accounts (
		name          TEXT PRIMARY KEY NOT NULL,
		display_name  TEXT NOT NULL DEFAULT '',
		role          TEXT NOT NULL,
		groups_json   TEXT NOT NULL DEFAULT '[]',
		device        TEXT NOT NULL DEFAULT '',
		password_hash TEXT NOT NULL,
		disabled      INTEGER NOT NULL DEFAULT 0,
		created_at    INTEGER NOT NULL,
		updated_at    INTEGER NOT NULL
	) WITHOUT ROWID;

	CREATE TABLE account_sessions (
		id_hash    TEXT PRIMARY KEY NOT NULL,
		account    TEXT NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
		source     TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		last_seen  INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE INDEX account_sessions_account ON account_sessions (account);

	CREATE TABLE api_tokens (
		id         TEXT PRIMARY KEY NOT NULL,
		hash       TEXT NOT NULL,
		name       TEXT NOT NULL DEFAULT '',
		account    TEXT NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
		role       TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		expires    INTEGER NOT NULL DEFAULT 0
	) WITHOUT ROWID;
	CREATE INDEX api_tokens_account ON api_tokens (account);`,

	// 5: the directory's contacts (issue 14). numbers holds the
	// normalised numbers, one per line.
	`CREATE TABLE contacts (
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		name       TEXT NOT NULL,
		numbers    TEXT NOT NULL DEFAULT '',
		company    TEXT NOT NULL DEFAULT '',
		email      TEXT NOT NULL DEFAULT '',
		notes      TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	);
	CREATE INDEX contacts_name ON contacts (name COLLATE NOCASE, id);`,

	// 6: operator states and users' own presence (issue 14), so a
	// restart keeps paused operators paused and an away user away.
	`CREATE TABLE operator_states (
		account TEXT PRIMARY KEY NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
		state   TEXT NOT NULL,
		reason  TEXT NOT NULL DEFAULT '',
		since   INTEGER NOT NULL
	) WITHOUT ROWID;

	CREATE TABLE user_presence (
		device     TEXT PRIMARY KEY NOT NULL,
		presence   TEXT NOT NULL,
		updated_at INTEGER NOT NULL
	) WITHOUT ROWID;`,
}

// errTooNew means the database was written by a newer Switchboard.
var errTooNew = errors.New("database schema is newer than this program")

// migrate brings the schema up to len(migrations), each step in its own
// transaction together with the version bump.
func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS schema_version (
			version    INTEGER NOT NULL,
			applied_at INTEGER NOT NULL
		)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for {
		done, err := migrateStep(ctx, db)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// migrateStep applies the next migration, if any. The version is read inside
// the (immediate, so write-locked) transaction, so two processes opening the
// same file cannot both apply a step.
func migrateStep(ctx context.Context, db *sql.DB) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var v int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return false, fmt.Errorf("migrate: read version: %w", err)
	}
	switch {
	case v > len(migrations):
		return false, fmt.Errorf("migrate: version %d, know up to %d: %w", v, len(migrations), errTooNew)
	case v == len(migrations):
		return true, tx.Rollback()
	}
	if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
		return false, fmt.Errorf("migrate to version %d: %w", v+1, err)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_version (version, applied_at) VALUES (?, ?)`,
		v+1, time.Now().UnixMicro()); err != nil {
		return false, fmt.Errorf("migrate to version %d: %w", v+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate to version %d: %w", v+1, err)
	}
	return false, nil
}

// SchemaVersion returns the schema version of the open database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}
