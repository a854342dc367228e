package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	labavaya "github.com/switchboard-gw/switchboard/lab/avaya"
	labcisco "github.com/switchboard-gw/switchboard/lab/cisco"
	"github.com/switchboard-gw/switchboard/lab/cisco/xsiwire"
	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
	"github.com/switchboard-gw/switchboard/plugins"
)

// Drivers are the drivers the bench knows, in the order -driver all runs
// them.
var Drivers = []string{"mitel", "avaya", "cisco"}

// pbx is a simulated switch the bench drives one driver process against:
// its own state is the truth every lamp is checked against.
type pbx interface {
	// config is the driver's JSON configuration for this switch.
	config() []byte
	// calls returns the calls at dev as the switch holds them: model call
	// ID → the state name a lamp must show (plugins.ConnectionState).
	calls(dev string) map[string]string
	// monitors lists the devices monitored at the switch, one entry per
	// monitor (or subscription covering it), sorted.
	monitors() []string
	// dropLinks drops the application's links (network failure, PBX
	// restart): Mitel and Avaya their TCP links, Cisco its event channels.
	dropLinks()
	// lose starts (on) or ends (off) the switch losing the events of devs
	// on their way to the driver.
	lose(devs []string, on bool)
	// reveal makes the loss visible to the driver: SystemStatus
	// messagesLost (CSTA), or for Xsi the next event of each device's
	// subscription showing a sequenceNumber gap (a Hold here).
	reveal(ctx context.Context, sup *plugins.Supervisor, devs []string) error
	// gapKind names the forced gap in the output.
	gapKind() string
	// resyncsAll reports whether the driver takes every device's snapshot
	// again after the gap (not only the affected ones').
	resyncsAll() bool
	// faults are the simulator's own fault injection the chaos run
	// draws from, for n devices (chaos.go); heal ends every fault.
	faults(n int) []fault
	heal()
	// liveMonitors lists the devices the switch monitors for the
	// driver's live link (Avaya: not the monitors of sessions whose link
	// went away, kept for their cleanup delay), one entry per monitor.
	liveMonitors() []string
	// chaosRate is the chaos run's call load, calls/s.
	chaosRate() int
	close() error
}

// newPBX starts the simulator for driver, knowing devs (Cisco needs its
// users up front), and returns it with the Mitel simulator itself when
// driver is mitel (the storms, the kill -9 under load and chaos use it).
func newPBX(driver string, devs []string, o Options) (pbx, *labmitel.Sim, error) {
	switch driver {
	case "mitel":
		sim, err := labmitel.New(labmitel.Config{Timestamps: true})
		if err != nil {
			return nil, nil, err
		}
		return mitelPBX{sim}, sim, nil
	case "avaya":
		sim, err := labavaya.New(labavaya.Config{User: "cti", Password: "secret", SwitchIP: "10.0.0.5", StrictNamespace: true})
		if err != nil {
			return nil, nil, err
		}
		return avayaPBX{sim}, nil, nil
	case "cisco":
		sim, err := labcisco.New(labcisco.Config{User: "admin", Password: "secret", Users: devs, WideSubscriptions: true})
		if err != nil {
			return nil, nil, err
		}
		dir, err := os.MkdirTemp("", "ctibench-cisco-")
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "ca.pem"), sim.CACertPEM(), 0o600)
		}
		if err != nil {
			_ = sim.Close()
			return nil, nil, err
		}
		return &ciscoPBX{sim: sim, dir: dir, scope: o.CiscoScope, all: devs}, nil, nil
	}
	return nil, nil, fmt.Errorf("unknown driver %q (want %v)", driver, Drivers)
}

func marshal(m map[string]any) []byte { b, _ := json.Marshal(m); return b }

// bulkCalls is a pbx that returns every device's calls (as calls does,
// devices with none left out) in one pass: checking 5,000 lamps one
// device at a time took 5,000 passes over the simulator's calls, under
// its lock, every 50 ms of a settle.
type bulkCalls interface {
	callsByDevice() map[string]map[string]string
}

func (p mitelPBX) callsByDevice() map[string]map[string]string { return p.sim.CallsByDevice() }
func (p avayaPBX) callsByDevice() map[string]map[string]string { return p.sim.CallsByDevice() }

// mitelPBX is lab/mitel (MiVO400, ECMA-323 over TCP).
type mitelPBX struct{ sim *labmitel.Sim }

func (p mitelPBX) config() []byte {
	return marshal(map[string]any{"address": p.sim.Addr(), "reconnect_min": "20ms", "reconnect_max": "500ms"})
}
func (p mitelPBX) calls(dev string) map[string]string { return p.sim.CallsAt(dev) }
func (p mitelPBX) monitors() []string                 { return p.sim.Monitors() }
func (p mitelPBX) dropLinks()                         { p.sim.DropLinks() }
func (p mitelPBX) lose(_ []string, on bool)           { p.sim.LoseEvents(map[bool]int{true: 1 << 20}[on]) }
func (p mitelPBX) reveal(context.Context, *plugins.Supervisor, []string) error {
	p.sim.SendSystemStatus(cstaxml.SystemStatusMessagesLost)
	return nil
}
func (mitelPBX) gapKind() string        { return "events lost, then SystemStatus messagesLost" }
func (mitelPBX) resyncsAll() bool       { return true }
func (p mitelPBX) close() error         { return p.sim.Close() }
func (p mitelPBX) faults(n int) []fault { return mitelFaults(p.sim, n) }
func (p mitelPBX) heal() {
	p.sim.SetMonitorLimit(0)
	p.sim.SetDelay(0)
	p.sim.LoseEvents(0)
}
func (p mitelPBX) liveMonitors() []string { return p.sim.Monitors() }
func (mitelPBX) chaosRate() int           { return 50 }

// avayaPBX is lab/avaya (AES DMCC XML over TCP).
type avayaPBX struct{ sim *labavaya.Sim }

func (p avayaPBX) config() []byte {
	return marshal(map[string]any{"address": p.sim.Addr(), "user": "cti", "password": "secret", "switch_name": "CM1",
		"reconnect_min": "20ms", "reconnect_max": "500ms"})
}
func (p avayaPBX) calls(dev string) map[string]string { return p.sim.CallsAt(dev) }
func (p avayaPBX) monitors() []string                 { return p.sim.Monitors() }
func (p avayaPBX) dropLinks()                         { p.sim.DropLinks() }
func (p avayaPBX) lose(_ []string, on bool)           { p.sim.LoseEvents(map[bool]int{true: 1 << 20}[on]) }
func (p avayaPBX) reveal(context.Context, *plugins.Supervisor, []string) error {
	p.sim.SendSystemStatus(cstaxml.SystemStatusMessagesLost)
	return nil
}
func (avayaPBX) gapKind() string        { return "events lost, then SystemStatus messagesLost" }
func (avayaPBX) resyncsAll() bool       { return true }
func (p avayaPBX) close() error         { return p.sim.Close() }
func (p avayaPBX) faults(n int) []fault { return avayaFaults(p.sim, n) }
func (p avayaPBX) heal() {
	p.sim.SetMonitorLimit(0)
	p.sim.SetDelay(0)
	p.sim.LoseEvents(0)
}
func (p avayaPBX) liveMonitors() []string { return p.sim.LinkedMonitors() }
func (avayaPBX) chaosRate() int           { return 50 }

// ciscoPBX is lab/cisco (BroadWorks Xsi-Actions and Xsi-Events over
// HTTPS), with per-user or group subscriptions (Options.CiscoScope).
type ciscoPBX struct {
	sim   *labcisco.Sim
	dir   string // holds the simulator's CA certificate for the driver
	scope string
	all   []string // every user
}

func (p *ciscoPBX) config() []byte {
	cfg := map[string]any{"base_url": p.sim.URL(), "user": "admin", "password": "secret",
		"tls_ca_file": filepath.Join(p.dir, "ca.pem"), "user_domain": "lab.example",
		"reconnect_min": "20ms", "reconnect_max": "500ms", "request_timeout": "10s"}
	if p.scope == "group" {
		cfg["subscription_scope"], cfg["service_provider_id"], cfg["group_id"] = "group", "sp1", "group1"
	}
	return marshal(cfg)
}

// calls maps each Xsi call half to the model state as cti-protocols.md §1
// defines it (the driver's own mapping is not used: the check must not
// share its mistakes).
func (p *ciscoPBX) calls(dev string) map[string]string {
	out := map[string]string{}
	for id, h := range p.sim.CallsAt(dev) {
		var st plugins.ConnectionState
		switch h.State {
		case xsiwire.StateAlerting:
			switch h.Personality {
			case xsiwire.PersonalityClickToDial:
				st = plugins.StateInitiated
			case xsiwire.PersonalityOriginator:
				st = plugins.StateConnected
			default:
				st = plugins.StateAlerting
			}
		case xsiwire.StateActive, xsiwire.StateRemoteHeld:
			st = plugins.StateConnected
		case xsiwire.StateHeld:
			st = plugins.StateHold
		default:
			continue // released, detached: no lamp
		}
		out[id] = st.String()
	}
	return out
}

func (p *ciscoPBX) monitors() []string { return p.sim.Subscribed() }
func (p *ciscoPBX) dropLinks()         { p.sim.DropChannels() }

func (p *ciscoPBX) lose(devs []string, on bool) {
	if !on {
		p.sim.StopSkipping()
		return
	}
	if p.scope == "group" {
		// One subscription per package carries every user's events, so
		// the callers' events would show the gap at once: lose those too,
		// and let reveal's Hold be the first event after the loss.
		devs = p.all
	}
	for _, d := range devs {
		p.sim.SkipEvents(d, 1<<20)
	}
}

// reveal holds each affected device's calls: the HeldEvent is the first
// event of its subscription after the skipped ones, so it shows the
// sequenceNumber gap (with a group subscription the first of them does,
// for every device).
func (p *ciscoPBX) reveal(ctx context.Context, sup *plugins.Supervisor, devs []string) error {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	errs := make(chan error, len(devs))
	for _, d := range devs {
		for id := range p.sim.CallsAt(d) {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if err := sup.Hold(ctx, plugins.ConnectionRef{Device: d, CallID: id}); err != nil {
					errs <- fmt.Errorf("hold %s: %w", d, err)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func (p *ciscoPBX) gapKind() string {
	return "Xsi events skipped (sequenceNumber gap), " + p.scope + " subscriptions"
}
func (p *ciscoPBX) resyncsAll() bool   { return p.scope == "group" }
func (p *ciscoPBX) faults(int) []fault { return ciscoFaults(p.sim, p.all) }
func (p *ciscoPBX) heal() {
	p.sim.SetDelay(0)
	p.sim.SetRefreshDelay(0)
	p.sim.RefuseAcks(0)
	p.sim.StopSkipping()
}
func (p *ciscoPBX) liveMonitors() []string { return p.sim.Subscribed() }

// chaosRate is lower than the CSTA drivers': each call is several Xsi
// requests over TLS.
func (*ciscoPBX) chaosRate() int { return 10 }
func (p *ciscoPBX) close() error {
	err := p.sim.Close()
	_ = os.RemoveAll(p.dir)
	return err
}
