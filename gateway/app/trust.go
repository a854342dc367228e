package app

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/sipguard"
)

// banQueueSize bounds the bans waiting to be written to the store.
const banQueueSize = 1024

// queueBan is the guard's OnBan: it hands the ban to the writer started by
// Run instead of writing the store on the request's goroutine. A full
// queue drops the write (the ban itself is in force) and logs it.
func (a *App) queueBan(b sipguard.Ban) {
	select {
	case a.banq <- b:
	default:
		a.log.Error("ban queue full: ban in force but not persisted", "ip", b.IP, "reason", b.Reason)
	}
}

// runBanWriter persists queued bans until ctx ends, then writes what is
// left in the queue.
func (a *App) runBanWriter(ctx context.Context, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case b := <-a.banq:
				a.persistBan(b)
			case <-ctx.Done():
				for {
					select {
					case b := <-a.banq:
						a.persistBan(b)
					default:
						return
					}
				}
			}
		}
	}()
}

// logConfigWarnings logs what the config loader found questionable, such
// as trusted prefixes wider than /24.
func logConfigWarnings(cfg *config.Config, log interface{ Warn(string, ...any) }) {
	for _, w := range cfg.Warnings() {
		log.Warn("config: "+w.Msg, "key", w.Key, "line", w.Line)
	}
}

// prefixSet returns a membership test for ps (nil for none).
func prefixSet(ps []netip.Prefix) func(netip.Addr) bool {
	if len(ps) == 0 {
		return nil
	}
	return func(ip netip.Addr) bool {
		ip = ip.Unmap()
		for _, p := range ps {
			if p.Contains(ip) {
				return true
			}
		}
		return false
	}
}

// trunkAddress reports whether ip is a current target address of one of
// trunks: the guard never counts or bans those (a PBX must not be banned
// by failures others provoke, nor by its own misconfiguration). It reads
// the last resolution, resolving only a trunk never resolved yet.
func trunkAddress(trunks []*dnssrv.Trunk) func(netip.Addr) bool {
	return func(ip netip.Addr) bool {
		ip = ip.Unmap()
		for _, tr := range trunks {
			targets := tr.Snapshot().Targets
			if len(targets) == 0 {
				ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
				ts, _ := tr.Targets(ctx)
				cancel()
				for _, t := range ts {
					if t.Addr.Addr().Unmap() == ip {
						return true
					}
				}
				continue
			}
			for _, t := range targets {
				if t.Addr.Addr().Unmap() == ip {
					return true
				}
			}
		}
		return false
	}
}
