//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"runtime/pprof"

	"github.com/switchboard-gw/switchboard/media/relay"
)

// runChild is the relay process: N sessions whose far ends are the
// generator's sockets, then a "usage" line answered with a usage JSON line
// until stdin closes. With a profile file, the CPU profile covers the time
// from the first usage line to the second (the measurement window).
func runChild(calls, portMin, portMax, threads int, genA, genB []netip.AddrPort, profile string) error {
	r, err := relay.New(relay.Config{
		ListenIP: netip.MustParseAddr("127.0.0.1"),
		PortMin:  portMin, PortMax: portMax,
		MediaTimeout: -1,
		Threads:      threads,
	})
	if err != nil {
		return err
	}
	defer r.Close()
	sessions := make([]*relay.Session, 0, calls)
	ports := make([][2]int, 0, calls)
	for i := range calls {
		s, err := r.NewSession()
		if err != nil {
			return fmt.Errorf("session %d: %w", i, err)
		}
		s.A().SetRemote(relay.Remote{RTP: genA[i%len(genA)]})
		s.B().SetRemote(relay.Remote{RTP: genB[i%len(genB)]})
		sessions = append(sessions, s)
		ports = append(ports, [2]int{s.A().Port(), s.B().Port()})
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(ports); err != nil {
		return err
	}
	in := bufio.NewScanner(os.Stdin)
	for asked := 0; in.Scan(); asked++ {
		if profile != "" && asked == 0 {
			f, err := os.Create(profile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
		}
		if profile != "" && asked == 1 {
			pprof.StopCPUProfile()
		}
		var u usage
		for _, s := range sessions {
			a, b := s.Stats()
			u.Received += a.Packets + b.Packets
			u.Forwarded += a.Forwarded + b.Forwarded
			u.Ignored += a.Ignored + b.Ignored
			u.Dropped += a.Dropped + b.Dropped
		}
		u.CPU = rusage()
		if err := enc.Encode(u); err != nil {
			return err
		}
	}
	return nil
}
