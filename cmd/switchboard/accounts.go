package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
	"github.com/switchboard-gw/switchboard/gateway/app"
)

const accountsUsage = `usage: switchboard accounts SUBCOMMAND [--config FILE] ...
  list                                   list accounts
  add [--role R] [--display-name N] [--groups G1,G2] [--device SRC:ID] NAME [PASSWORD]
                                         add an account (role operator by default;
                                         without PASSWORD a random one is printed)
  passwd NAME [PASSWORD]                 set a password (random when omitted); ends the account's sessions
  disable NAME | enable NAME             disabling ends the account's sessions and stops its tokens
  delete NAME                            delete an account with its sessions and tokens
  token NAME TOKEN-NAME [--role R] [--expires DURATION]
                                         make an API token for NAME (printed once)`

// cmdAccounts manages the HTTPS side's accounts on the store directly; a
// running gateway sees the changes at once (it reads accounts per request).
func cmdAccounts(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, accountsUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("accounts "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (names the store)")
	role := fs.String("role", "", "role: operator, supervisor or admin (add: default operator; token: default the owner's)")
	display := fs.String("display-name", "", "display name (add)")
	groups := fs.String("groups", "", "operator groups, comma-separated (add)")
	device := fs.String("device", "", "the operator's device, <source>:<id> as gateway:u1000 (add)")
	expires := fs.Duration("expires", 0, "token lifetime, e.g. 8760h; 0 = no expiry (token)")
	if err := fs.Parse(interleave(args)); err != nil {
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
	svc, err := app.NewAccounts(cfg, st)
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	nargs := func(lo, hi int) bool {
		if fs.NArg() < lo || fs.NArg() > hi {
			fmt.Fprintln(stderr, accountsUsage)
			return false
		}
		return true
	}
	switch sub {
	case "list":
		as, err := svc.List(ctx)
		if err != nil {
			return fail(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tDISPLAY NAME\tGROUPS\tDEVICE\tDISABLED")
		for _, a := range as {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", a.Name, a.Role, a.DisplayName, strings.Join(a.Groups, ","), a.Device, a.Disabled)
		}
		_ = tw.Flush()
		return 0
	case "add":
		if !nargs(1, 2) {
			return 2
		}
		r := accounts.Role(*role)
		if r == "" {
			r = accounts.RoleOperator
		}
		pw, shown := password(fs.Arg(1))
		var gs []string
		if *groups != "" {
			gs = strings.Split(*groups, ",")
		}
		a, err := svc.Create(ctx, accounts.NewAccount{Name: fs.Arg(0), DisplayName: *display, Role: r, Groups: gs,
			Device: *device, Password: pw})
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "added %s (%s)\n", a.Name, a.Role)
		if shown {
			fmt.Fprintf(stdout, "password: %s\n", pw)
		}
		return 0
	case "passwd":
		if !nargs(1, 2) {
			return 2
		}
		pw, shown := password(fs.Arg(1))
		if err := svc.SetPassword(ctx, fs.Arg(0), pw); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "password of %s changed; its sessions ended\n", fs.Arg(0))
		if shown {
			fmt.Fprintf(stdout, "password: %s\n", pw)
		}
		return 0
	case "disable", "enable":
		if !nargs(1, 1) {
			return 2
		}
		off := sub == "disable"
		if _, err := svc.Update(ctx, fs.Arg(0), accounts.Patch{Disabled: &off}); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "%sd %s\n", sub, fs.Arg(0))
		return 0
	case "delete":
		if !nargs(1, 1) {
			return 2
		}
		if err := svc.Delete(ctx, fs.Arg(0)); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "deleted %s\n", fs.Arg(0))
		return 0
	case "token":
		if !nargs(2, 2) {
			return 2
		}
		owner, err := svc.Get(ctx, fs.Arg(0))
		if err != nil {
			return fail(err)
		}
		if owner.Disabled {
			return fail(errors.New(owner.Name + " is disabled"))
		}
		var exp time.Time
		if *expires > 0 {
			exp = time.Now().Add(*expires)
		}
		p := accounts.Principal{Account: owner.Name, Role: owner.Role, Via: "cli"}
		t, value, err := svc.IssueToken(ctx, p, fs.Arg(1), accounts.Role(*role), exp)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "token %s (%s, role %s) for %s; shown once:\n%s\n", t.ID, t.Name, t.Role, owner.Name, value)
		return 0
	}
	fmt.Fprintln(stderr, accountsUsage)
	return 2
}

// password returns pw, or a random one (shown = true) when pw is "".
func password(pw string) (string, bool) {
	if pw != "" {
		return pw, false
	}
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b), true
}

// interleave moves flags after positional arguments to the front, so
// "accounts add olga --role supervisor" works as well as the flag-first
// form.
func interleave(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(append(flags, "--"), pos...)
}
