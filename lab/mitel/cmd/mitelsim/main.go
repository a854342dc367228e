// Command mitelsim runs the MiVoice Office 400 CSTA simulator of lab/mitel
// for manual tests and benchmarks:
//
//	go run ./lab/mitel/cmd/mitelsim -listen 127.0.0.1:7001 -user csta -password secret -devices 201-299
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/switchboard-gw/switchboard/lab/ctisim"
	"github.com/switchboard-gw/switchboard/lab/mitel"
)

func main() {
	var cfg mitel.Config
	var devices string
	flag.StringVar(&cfg.Addr, "listen", "127.0.0.1:7001", "address to listen on")
	flag.StringVar(&cfg.User, "user", "", "expected login user (empty accepts any)")
	flag.StringVar(&cfg.Password, "password", "", "expected login password")
	flag.StringVar(&devices, "devices", "", "extensions that exist: 201,202 or 201-299 (empty: any)")
	flag.IntVar(&cfg.MonitorLimit, "licences", 0, `"CSTA Sessions" licences, i.e. monitors allowed (0: no limit)`)
	flag.DurationVar(&cfg.SystemStatusInterval, "system-status", 30*time.Second, "SystemStatus interval (0: never)")
	flag.Parse()
	var err error
	if cfg.Devices, err = ctisim.ParseExtensions(devices); err != nil {
		fmt.Fprintln(os.Stderr, "mitelsim: -devices:", err)
		os.Exit(2)
	}
	sim, err := mitel.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mitelsim:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "mitelsim: listening on", sim.Addr())
	_ = ctisim.UntilSignal(sim)
}
