package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/backup"
	"github.com/switchboard-gw/switchboard/gateway/config"
)

// backupOptions names the store and data folder of cfg; only the SQLite
// store can be backed up by this command.
func backupOptions(cfg *config.Config) (backup.Options, error) {
	if strings.Contains(cfg.Store, "://") {
		return backup.Options{}, fmt.Errorf("store %s is not an SQLite file: back it up with its own tools", cfg.Store)
	}
	return backup.Options{Store: cfg.Store, DataDir: cfg.DataDir, Version: version}, nil
}

// cmdBackup is `switchboard backup [--config FILE] [--force] FILE`.
func cmdBackup(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (names the store and data_dir)")
	force := fs.Bool("force", false, "replace FILE if it exists")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: switchboard backup [--config FILE] [--force] FILE")
		return 2
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	o, err := backupOptions(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	m, err := backup.Create(ctx, o, fs.Arg(0), *force)
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	fmt.Fprintf(stdout, "backup %s: schema version %d, %s; %d data files\n",
		fs.Arg(0), m.SchemaVersion, rowSummary(m.Rows), len(m.Files)-1)
	return 0
}

// cmdRestore is `switchboard restore [--config FILE] FILE`.
func cmdRestore(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (names the store and data_dir)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: switchboard restore [--config FILE] FILE")
		return 2
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	o, err := backupOptions(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	res, err := backup.Restore(ctx, o, fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		if res == nil {
			fmt.Fprintln(stderr, "switchboard: nothing was changed")
		}
		return 1
	}
	from := "a bare store file"
	if res.Manifest != nil {
		from = fmt.Sprintf("the backup taken %s by switchboard %s",
			res.Manifest.Created.Format(time.RFC3339), res.Manifest.GatewayVersion)
	}
	fmt.Fprintf(stdout, "restored %s from %s\n", o.Store, from)
	fmt.Fprintf(stdout, "schema version %d", res.FromVersion)
	if res.ToVersion != res.FromVersion {
		fmt.Fprintf(stdout, " migrated to %d", res.ToVersion)
	}
	fmt.Fprintf(stdout, "; %s\n", rowSummary(res.Rows))
	if res.Replaced != "" {
		fmt.Fprintf(stdout, "the previous store is kept as %s\n", res.Replaced)
	}
	if len(res.Files) > 0 {
		fmt.Fprintf(stdout, "data files restored: %s", strings.Join(res.Files, ", "))
		if len(res.Kept) > 0 {
			fmt.Fprintf(stdout, " (previous %s kept as .bak)", strings.Join(res.Kept, ", "))
		}
		fmt.Fprintln(stdout)
	}
	return 0
}

// rowSummary is "users 3, bindings 5, ..." with schema_version left out.
func rowSummary(rows map[string]int64) string {
	names := make([]string, 0, len(rows))
	for n := range rows {
		if n != "schema_version" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, rows[n])
	}
	return "rows: " + strings.Join(parts, ", ")
}
