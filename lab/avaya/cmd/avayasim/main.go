// Command avayasim runs the AE Services DMCC XML simulator of lab/avaya
// for manual tests and benchmarks:
//
//	go run ./lab/avaya/cmd/avayasim -listen 127.0.0.1:4721 -user cti -password secret -switch CM1 -devices 201-299
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/switchboard-gw/switchboard/lab/avaya"
	"github.com/switchboard-gw/switchboard/lab/ctisim"
)

func main() {
	var cfg avaya.Config
	var devices string
	flag.StringVar(&cfg.Addr, "listen", "127.0.0.1:4721", "address to listen on (AES: 4721 plain, 4722 TLS)")
	flag.StringVar(&cfg.User, "user", "", "expected CTI user (empty accepts any)")
	flag.StringVar(&cfg.Password, "password", "", "expected password")
	flag.StringVar(&cfg.SwitchName, "switch", "CM1", "switch connection name")
	flag.StringVar(&cfg.SwitchIP, "switch-ip", "", "IP part of device IDs (ext:switch:ip:0)")
	flag.StringVar(&devices, "devices", "", "stations that exist: 201,202 or 201-299 (empty: any digits)")
	flag.IntVar(&cfg.MonitorLimit, "licences", 0, "TSAPI Basic licences, i.e. monitors allowed (0: no limit)")
	flag.IntVar(&cfg.MaxSessionDuration, "max-session", 300, "longest session duration granted, seconds")
	flag.BoolVar(&cfg.NoResume, "no-resume", false, "refuse to resume sessions by sessionID")
	flag.DurationVar(&cfg.SystemStatusInterval, "system-status", 30*time.Second, "SystemStatus interval (0: never)")
	flag.Parse()
	var err error
	if cfg.Devices, err = ctisim.ParseExtensions(devices); err != nil {
		fmt.Fprintln(os.Stderr, "avayasim: -devices:", err)
		os.Exit(2)
	}
	sim, err := avaya.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "avayasim:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "avayasim: listening on", sim.Addr())
	_ = ctisim.UntilSignal(sim)
}
