// Command ciscosim runs the BroadWorks Xsi simulator of lab/cisco for
// manual tests and the lab:
//
//	go run ./lab/cisco/cmd/ciscosim -listen 127.0.0.1:8443 -user admin -password secret -users 201-204 -ca ca.pem
//
// It serves HTTPS with a self-signed certificate, written to -ca for the
// driver's tls_ca_file.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/switchboard-gw/switchboard/lab/cisco"
	"github.com/switchboard-gw/switchboard/lab/ctisim"
)

func main() {
	var cfg cisco.Config
	var users, ca string
	flag.StringVar(&cfg.Addr, "listen", "127.0.0.1:8443", "address to listen on")
	flag.StringVar(&cfg.User, "user", "admin", "HTTP Basic user (empty accepts any)")
	flag.StringVar(&cfg.Password, "password", "secret", "HTTP Basic password")
	flag.StringVar(&cfg.Domain, "domain", "lab.example", "user IDs are extension@domain")
	flag.StringVar(&users, "users", "201-204", "extensions: 201,202 or 201-299")
	flag.DurationVar(&cfg.AckTimeout, "ack-timeout", 5*time.Second, "an unacknowledged event is sent again after this")
	flag.IntVar(&cfg.MaxResends, "max-resends", 2, "resends before the channel is closed")
	flag.IntVar(&cfg.MinExpires, "min-expires", 3600, "minimum channel/subscription expires, seconds")
	flag.BoolVar(&cfg.PlainHTTP, "plain-http", false, "serve plain HTTP")
	flag.StringVar(&ca, "ca", "", "write the self-signed certificate (PEM) to this file")
	flag.Parse()
	var err error
	if cfg.Users, err = ctisim.ParseExtensions(users); err != nil {
		fmt.Fprintln(os.Stderr, "ciscosim: -users:", err)
		os.Exit(2)
	}
	sim, err := cisco.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ciscosim:", err)
		os.Exit(1)
	}
	if ca != "" && !cfg.PlainHTTP {
		if err := os.WriteFile(ca, sim.CACertPEM(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "ciscosim:", err)
			_ = sim.Close()
			os.Exit(1)
		}
	}
	fmt.Fprintln(os.Stderr, "ciscosim: serving Xsi on", sim.URL())
	_ = ctisim.UntilSignal(sim)
}
