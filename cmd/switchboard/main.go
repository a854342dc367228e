// Command switchboard is the Switchboard SIP/CTI gateway: one binary that
// serves (serve), checks its configuration (check-config), manages users
// (users) and bans (bans), and prints its version (version).
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: switchboard <command> [arguments]

commands:
  serve [--config FILE]                 run the gateway (local defaults without a config)
  check-config FILE                     check a configuration file; prints every error
  users import [--config FILE] [--report FILE] users.csv
                                        import users (CSV: username,password,display_name,extension)
  users list [--config FILE]            list users
  users add [--config FILE] [--display-name N] [--extension E] USERNAME PASSWORD
  users delete [--config FILE] USERNAME
  accounts list|add|passwd|disable|enable|delete|token [--config FILE] ...
                                        HTTPS logins: operators, supervisors, admins, API tokens
                                        ("switchboard accounts" prints the details)
  bans [list] [--config FILE]           list banned sources
  bans delete [--config FILE] IP        lift a ban (a running gateway picks it up on SIGHUP)
  dns resolve [--config FILE] [--probe] URI|TRUNK
                                        the targets a SIP URI or trunk resolves to, in order (RFC 3263)
  driver NAME                           run a bundled CTI driver (started by the gateway, not by hand)
  version                               print the version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return cmdServe(args[1:], stderr)
	case "check-config":
		return cmdCheckConfig(args[1:], stdout, stderr)
	case "users":
		return cmdUsers(args[1:], stdout, stderr)
	case "accounts":
		return cmdAccounts(args[1:], stdout, stderr) // accounts.go
	case "bans":
		return cmdBans(args[1:], stdout, stderr)
	case "dns":
		return cmdDNS(args[1:], stdout, stderr)
	case "driver":
		return cmdDriver(args[1:], stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "switchboard", versionString())
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "switchboard: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		v += " " + bi.GoVersion
	}
	return v
}
