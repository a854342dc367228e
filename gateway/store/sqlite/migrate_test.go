package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// updateFixture writes the missing fixtures of TestMigrations: after
// appending a migration, run
//
//	go test ./gateway/store/sqlite -run TestMigrations -update-fixture
//
// and commit testdata/migrations/vNNN.sql. Existing fixtures are never
// rewritten: they are the data of versions that shipped.
var updateFixture = flag.Bool("update-fixture", false, "write missing testdata/migrations/vNNN.sql fixtures")

const fixtureDir = "testdata/migrations"

func fixturePath(v int) string { return filepath.Join(fixtureDir, fmt.Sprintf("v%03d.sql", v)) }
func seedPath(v int) string    { return filepath.Join(fixtureDir, "seed", fmt.Sprintf("v%03d.sql", v)) }

// TestMigrations opens a database at every earlier schema version, with
// the rows a gateway of that version had written, with today's code: the
// schema must end at the latest version and be the schema of a fresh
// database, and every row of every table must still be there with the
// values of the columns it had.
func TestMigrations(t *testing.T) {
	ctx := context.Background()
	if *updateFixture {
		for v := 1; v <= len(migrations); v++ {
			if _, err := os.Stat(fixturePath(v)); errors.Is(err, fs.ErrNotExist) {
				writeFixture(t, v)
			}
		}
	}
	fresh := openTemp(t)
	freshSchema := schemaOf(t, fresh)

	for v := 1; v <= len(migrations); v++ {
		t.Run(fmt.Sprintf("from v%d", v), func(t *testing.T) {
			path := loadFixture(t, v)
			old := openRaw(t, path)
			if got := versionOf(t, old); got != v {
				t.Fatalf("fixture %s is at schema version %d, want %d", fixturePath(v), got, v)
			}
			oldData := dataOf(t, old, nil)
			_ = old.Close()
			total := 0
			for _, d := range oldData {
				total += len(d.rows)
			}
			if total == 0 {
				t.Fatalf("fixture %s has no rows", fixturePath(v))
			}

			st, err := Open(ctx, path)
			if err != nil {
				t.Fatalf("opening a version %d store: %v", v, err)
			}
			if got, err := st.SchemaVersion(ctx); err != nil || got != len(migrations) {
				t.Fatalf("schema version %d %v after migrating from %d, want %d", got, err, v, len(migrations))
			}
			if got := schemaOf(t, st.w); !reflect.DeepEqual(got, freshSchema) {
				t.Errorf("schema migrated from v%d differs from a fresh one:\n%v\nfresh:\n%v", v, got, freshSchema)
			}
			newData := dataOf(t, st.w, oldData)
			for table, d := range oldData {
				if table == "schema_version" {
					continue
				}
				if !reflect.DeepEqual(newData[table].rows, d.rows) {
					t.Errorf("table %s: %d rows before, %d after migrating from v%d; or values changed:\nbefore %v\nafter  %v",
						table, len(d.rows), len(newData[table].rows), v, d.rows, newData[table].rows)
				}
			}
			// The store's own reads work on the migrated data.
			us, err := st.Users(ctx)
			if err != nil || len(us) != len(oldData["users"].rows) {
				t.Errorf("Users: %d %v, fixture has %d", len(us), err, len(oldData["users"].rows))
			}
			bs, err := st.Bindings(ctx)
			if err != nil || len(bs) != len(oldData["bindings"].rows) {
				t.Errorf("Bindings: %d %v, fixture has %d", len(bs), err, len(oldData["bindings"].rows))
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := Check(ctx, path); err != nil {
				t.Errorf("check after migrating: %v", err)
			}
			t.Logf("v%d → v%d: %d rows kept", v, len(migrations), total)
		})
	}
}

// TestMigrationsHaveFixtures fails when a migration was appended without
// its fixture.
func TestMigrationsHaveFixtures(t *testing.T) {
	for v := 1; v <= len(migrations); v++ {
		if _, err := os.Stat(fixturePath(v)); err != nil {
			t.Errorf("migration %d has no fixture %s: run `go test ./gateway/store/sqlite -run TestMigrations -update-fixture` (add rows for new tables in %s first) and commit it",
				v, fixturePath(v), seedPath(v))
		}
	}
	if _, err := os.Stat(fixturePath(len(migrations) + 1)); err == nil {
		t.Errorf("fixture %s is for a migration that does not exist", fixturePath(len(migrations)+1))
	}
}

// loadFixture builds a database file from fixture v.
func loadFixture(t *testing.T, v int) string {
	t.Helper()
	script, err := os.ReadFile(fixturePath(v))
	if err != nil {
		t.Fatalf("fixture of schema version %d: %v (run `go test ./gateway/store/sqlite -run TestMigrations -update-fixture`)", v, err)
	}
	path := filepath.Join(t.TempDir(), fmt.Sprintf("v%03d.db", v))
	db := openRaw(t, path)
	defer db.Close()
	if _, err := db.Exec(string(script)); err != nil {
		t.Fatalf("loading %s: %v", fixturePath(v), err)
	}
	return path
}

// writeFixture builds version v from fixture v-1 (or from nothing), runs
// migration v, the hand-written seed rows of v if any, fills tables that
// are still empty with generated rows, and dumps it.
func writeFixture(t *testing.T, v int) {
	t.Helper()
	ctx := context.Background()
	var path string
	if v == 1 {
		path = filepath.Join(t.TempDir(), "new.db")
	} else {
		path = loadFixture(t, v-1)
	}
	db := openRaw(t, path)
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for versionOf(t, db) < v {
		if _, err := migrateStep(ctx, db); err != nil {
			t.Fatal(err)
		}
	}
	// applied_at is the time the step ran: pin it so fixtures diff well.
	if _, err := db.Exec(`UPDATE schema_version SET applied_at = 1764000000000000 + version`); err != nil {
		t.Fatal(err)
	}
	if seed, err := os.ReadFile(seedPath(v)); err == nil {
		if _, err := db.Exec(string(seed)); err != nil {
			t.Fatalf("seed %s: %v", seedPath(v), err)
		}
	}
	if err := fillEmpty(db); err != nil {
		t.Fatalf("fixture v%d: %v; write rows for it in %s", v, err, seedPath(v))
	}
	dump, err := dumpSQL(db, v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fixturePath(v), []byte(dump), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", fixturePath(v))
}

// fillEmpty inserts three generated rows into every empty table, parents
// before children when a column references another table.
func fillEmpty(db *sql.DB) error {
	tables, err := tableNames(context.Background(), db)
	if err != nil {
		return err
	}
	pending := map[string]bool{}
	for _, tb := range tables {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM "` + tb + `"`).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			pending[tb] = true
		}
	}
	for len(pending) > 0 {
		progress := false
		for _, tb := range tables {
			if !pending[tb] {
				continue
			}
			fks, err := foreignKeys(db, tb)
			if err != nil {
				return err
			}
			ready := true
			for _, fk := range fks {
				if pending[fk.table] && fk.table != tb {
					ready = false
				}
			}
			if !ready {
				continue
			}
			if err := fillTable(db, tb, fks); err != nil {
				return fmt.Errorf("table %s: %w", tb, err)
			}
			delete(pending, tb)
			progress = true
		}
		if !progress {
			return fmt.Errorf("tables referencing each other: %v", pending)
		}
	}
	return nil
}

type foreignKey struct{ from, table, to string }

func foreignKeys(db *sql.DB, table string) ([]foreignKey, error) {
	rows, err := db.Query(`SELECT "from", "table", "to" FROM pragma_foreign_key_list(?)`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []foreignKey
	for rows.Next() {
		var fk foreignKey
		var to sql.NullString
		if err := rows.Scan(&fk.from, &fk.table, &to); err != nil {
			return nil, err
		}
		fk.to = to.String
		out = append(out, fk)
	}
	return out, rows.Err()
}

type column struct {
	name, typ string
}

func columnsOf(db *sql.DB, table string) ([]column, error) {
	rows, err := db.Query(`SELECT name, type FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.name, &c.typ); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// fillTable inserts three rows with values made from the column's type and
// the row number; a column that references another table takes that
// table's value.
func fillTable(db *sql.DB, table string, fks []foreignKey) error {
	cols, err := columnsOf(db, table)
	if err != nil {
		return err
	}
	for i := 1; i <= 3; i++ {
		names := make([]string, len(cols))
		marks := make([]string, len(cols))
		args := make([]any, len(cols))
		for j, c := range cols {
			names[j], marks[j] = `"`+c.name+`"`, "?"
			args[j] = sampleValue(table, c, i)
			for _, fk := range fks {
				if fk.from != c.name {
					continue
				}
				to := fk.to
				if to == "" {
					to = "rowid"
				}
				var v any
				if err := db.QueryRow(fmt.Sprintf(`SELECT "%s" FROM "%s" ORDER BY 1 LIMIT 1 OFFSET ?`, to, fk.table), (i-1)%3).Scan(&v); err != nil {
					return fmt.Errorf("value for %s from %s.%s: %w", c.name, fk.table, to, err)
				}
				args[j] = v
			}
		}
		q := fmt.Sprintf(`INSERT INTO "%s" (%s) VALUES (%s)`, table, strings.Join(names, ", "), strings.Join(marks, ", "))
		if _, err := db.Exec(q, args...); err != nil {
			return err
		}
	}
	return nil
}

// sampleValue follows SQLite's type affinity rules (§3.1 of
// https://www.sqlite.org/datatype3.html).
func sampleValue(table string, c column, i int) any {
	t := strings.ToUpper(c.typ)
	switch {
	case strings.Contains(t, "INT"):
		return int64(1764000000000000 + i)
	case strings.Contains(t, "CHAR"), strings.Contains(t, "CLOB"), strings.Contains(t, "TEXT"):
		return fmt.Sprintf("%s.%s.%d", table, c.name, i)
	case strings.Contains(t, "BLOB"), t == "":
		return []byte(fmt.Sprintf("%s.%s.%d", table, c.name, i))
	case strings.Contains(t, "REAL"), strings.Contains(t, "FLOA"), strings.Contains(t, "DOUB"):
		return float64(i) + 0.25
	}
	return int64(i)
}

// dumpSQL writes the database as a script that rebuilds it: the schema
// from sqlite_master and one INSERT per row.
func dumpSQL(db *sql.DB, v int) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "-- A Switchboard store at schema version %d, written by\n", v)
	b.WriteString("-- `go test ./gateway/store/sqlite -run TestMigrations -update-fixture`.\n")
	b.WriteString("-- Never edit it: it is the data of a shipped schema version.\n")
	b.WriteString("BEGIN;\n")
	rows, err := db.Query(`SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type = 'table' DESC, rowid`)
	if err != nil {
		return "", err
	}
	type obj struct{ typ, name, sql string }
	var objs []obj
	for rows.Next() {
		var o obj
		if err := rows.Scan(&o.typ, &o.name, &o.sql); err != nil {
			rows.Close()
			return "", err
		}
		objs = append(objs, o)
	}
	rows.Close()
	for _, o := range objs {
		if o.typ != "table" || strings.HasPrefix(o.name, "sqlite_") {
			continue
		}
		b.WriteString(o.sql + ";\n")
		cols, err := columnsOf(db, o.name)
		if err != nil {
			return "", err
		}
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = `"` + c.name + `"`
		}
		list := strings.Join(names, ", ")
		rs, err := db.Query(fmt.Sprintf(`SELECT %s FROM "%s" ORDER BY %s`, list, o.name, list))
		if err != nil {
			return "", err
		}
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				rs.Close()
				return "", err
			}
			lits := make([]string, len(vals))
			for i, v := range vals {
				lits[i] = sqlLiteral(v)
			}
			fmt.Fprintf(&b, "INSERT INTO \"%s\" (%s) VALUES (%s);\n", o.name, list, strings.Join(lits, ", "))
		}
		if err := errors.Join(rs.Err(), rs.Close()); err != nil {
			return "", err
		}
	}
	for _, o := range objs {
		if o.typ != "table" {
			b.WriteString(o.sql + ";\n")
		}
	}
	b.WriteString("COMMIT;\n")
	return b.String(), nil
}

// sqlLiteral writes a value as an SQL literal of the same storage class.
func sqlLiteral(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		s := strconv.FormatFloat(v, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEnN") {
			s += ".0"
		}
		return s
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case []byte:
		return "X'" + hex.EncodeToString(v) + "'"
	}
	panic(fmt.Sprintf("sqlLiteral: %T", v))
}

// tableData is every row of a table, projected onto some columns and
// ordered by them.
type tableData struct {
	cols []string
	rows [][]any
}

// dataOf reads every table; with like, only like's tables and columns.
func dataOf(t *testing.T, db *sql.DB, like map[string]tableData) map[string]tableData {
	t.Helper()
	tables, err := tableNames(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]tableData{}
	for _, tb := range tables {
		var names []string
		if like != nil {
			d, ok := like[tb]
			if !ok {
				continue
			}
			names = d.cols
		} else {
			cols, err := columnsOf(db, tb)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cols {
				names = append(names, c.name)
			}
		}
		quoted := make([]string, len(names))
		for i, n := range names {
			quoted[i] = `"` + n + `"`
		}
		list := strings.Join(quoted, ", ")
		rs, err := db.Query(fmt.Sprintf(`SELECT %s FROM "%s" ORDER BY %s`, list, tb, list))
		if err != nil {
			t.Fatalf("table %s: %v", tb, err)
		}
		d := tableData{cols: names}
		for rs.Next() {
			vals := make([]any, len(names))
			ptrs := make([]any, len(names))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			d.rows = append(d.rows, vals)
		}
		if err := errors.Join(rs.Err(), rs.Close()); err != nil {
			t.Fatal(err)
		}
		out[tb] = d
	}
	return out
}

// schemaOf lists every table's columns (name, type, not null, default,
// primary key) and every index's definition.
func schemaOf(t *testing.T, db interface {
	Query(string, ...any) (*sql.Rows, error)
}) []string {
	t.Helper()
	rows, err := db.Query(`
		SELECT m.name || '.' || c.name || ' ' || c.type || ' notnull=' || c."notnull" || ' default=' || COALESCE(c.dflt_value, 'NULL') || ' pk=' || c.pk
		FROM sqlite_master m, pragma_table_info(m.name) c
		WHERE m.type = 'table'
		UNION ALL
		SELECT 'index ' || name || ' ' || COALESCE(sql, '') FROM sqlite_master WHERE type IN ('index', 'trigger', 'view')
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func versionOf(t *testing.T, db *sql.DB) int {
	t.Helper()
	var v int
	if err := db.QueryRow(`SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func openRaw(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return db
}

// openTemp migrates a new database to the latest version.
func openTemp(t *testing.T) *sql.DB {
	t.Helper()
	st, err := Open(context.Background(), filepath.Join(t.TempDir(), "fresh.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st.w
}
