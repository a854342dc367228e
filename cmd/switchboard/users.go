package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/app"
	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/store"
	"github.com/switchboard-gw/switchboard/gateway/users"
)

const usersUsage = "usage: switchboard users import|list|add|delete [--config FILE] ..."

func cmdUsers(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usersUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("users "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (names the store and the realm)")
	report := fs.String("report", "", "failed-user report file (import; default: <input>.failed.csv)")
	display := fs.String("display-name", "", "display name (add)")
	ext := fs.String("extension", "", "extension (add)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	defer st.Close()

	switch sub {
	case "import":
		if fs.NArg() != 1 {
			fmt.Fprintln(stderr, "usage: switchboard users import [--config FILE] [--report FILE] users.csv")
			return 2
		}
		return importUsers(ctx, st, cfg, fs.Arg(0), *report, stdout, stderr)
	case "list":
		us, err := st.Users(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "switchboard:", err)
			return 1
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tDISPLAY NAME\tEXTENSION\tREALM")
		for _, u := range us {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Username, u.DisplayName, u.Extension, u.Realm)
		}
		_ = tw.Flush()
		return 0
	case "add":
		if fs.NArg() != 2 {
			fmt.Fprintln(stderr, "usage: switchboard users add [--config FILE] [--display-name N] [--extension E] USERNAME PASSWORD")
			return 2
		}
		name, pw := fs.Arg(0), fs.Arg(1)
		if !config.ValidUsername(name) || pw == "" {
			fmt.Fprintln(stderr, "switchboard: invalid username or empty password")
			return 1
		}
		if err := st.AddUsers(ctx, []store.User{store.NewUser(name, cfg.Realm(), pw, *display, *ext)}); err != nil {
			fmt.Fprintln(stderr, "switchboard:", err)
			return 1
		}
		fmt.Fprintf(stdout, "added %s (a running gateway picks it up on SIGHUP)\n", name)
		return 0
	case "delete":
		if fs.NArg() != 1 {
			fmt.Fprintln(stderr, "usage: switchboard users delete [--config FILE] USERNAME")
			return 2
		}
		if err := st.DeleteUser(ctx, fs.Arg(0)); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				fmt.Fprintf(stderr, "switchboard: no user %q\n", fs.Arg(0))
			} else {
				fmt.Fprintln(stderr, "switchboard:", err)
			}
			return 1
		}
		fmt.Fprintf(stdout, "deleted %s\n", fs.Arg(0))
		return 0
	}
	fmt.Fprintln(stderr, usersUsage)
	return 2
}

func importUsers(ctx context.Context, st store.Store, cfg *config.Config, path, reportPath string, stdout, stderr io.Writer) int {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	defer f.Close()
	rep, err := users.Import(ctx, st, cfg.Realm(), f)
	if err != nil {
		fmt.Fprintln(stderr, "switchboard: import:", err)
		return 1
	}
	fmt.Fprintf(stdout, "imported %d users, %d failed\n", rep.Imported, len(rep.Failed))
	if len(rep.Failed) == 0 {
		return 0
	}
	if reportPath == "" {
		reportPath = strings.TrimSuffix(path, ".csv") + ".failed.csv"
	}
	out, err := os.Create(reportPath)
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	if err := users.WriteReport(out, rep.Failed); err != nil {
		out.Close()
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	if err := out.Close(); err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	fmt.Fprintf(stdout, "failed-user report: %s\n", reportPath)
	return 1
}
