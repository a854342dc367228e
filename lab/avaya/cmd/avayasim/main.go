// Command avayasim runs the AE Services DMCC XML simulator of lab/avaya
// for manual tests and benchmarks:
//
//	go run ./lab/avaya/cmd/avayasim -listen 127.0.0.1:4721 -user cti -password secret -switch CM1 -devices 201-299
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard-gw/switchboard/lab/avaya"
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
	if cfg.Devices, err = parseDevices(devices); err != nil {
		fmt.Fprintln(os.Stderr, "avayasim:", err)
		os.Exit(2)
	}
	sim, err := avaya.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "avayasim:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "avayasim: listening on", sim.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	_ = sim.Close()
}

// parseDevices reads "201,202,300-310".
func parseDevices(s string) ([]string, error) {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			out = append(out, part)
			continue
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || b < a || b-a > 100000 {
			return nil, fmt.Errorf("bad device range %q", part)
		}
		for i := a; i <= b; i++ {
			out = append(out, strconv.Itoa(i))
		}
	}
	return out, nil
}
