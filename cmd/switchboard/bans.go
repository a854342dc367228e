package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/app"
)

func cmdBans(args []string, stdout, stderr io.Writer) int {
	sub := "list"
	if len(args) > 0 && (args[0] == "list" || args[0] == "delete") {
		sub, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("bans "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (names the store)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	defer st.Close()
	if sub == "delete" {
		if fs.NArg() != 1 {
			fmt.Fprintln(stderr, "usage: switchboard bans delete [--config FILE] IP")
			return 2
		}
		if err := st.DeleteBan(ctx, fs.Arg(0)); err != nil {
			fmt.Fprintln(stderr, "switchboard:", err)
			return 1
		}
		fmt.Fprintf(stdout, "ban on %s lifted (send SIGHUP to a running gateway)\n", fs.Arg(0))
		return 0
	}
	bans, err := st.Bans(ctx, time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IP\tUNTIL\tREASON")
	for _, b := range bans {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", b.IP, b.Until.Format(time.RFC3339), b.Reason)
	}
	_ = tw.Flush()
	return 0
}
