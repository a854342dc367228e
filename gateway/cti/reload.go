package cti

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/plugins"
)

// Changes says what Update did, by driver name.
type Changes struct {
	Added, Removed, Changed []string
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool { return len(c.Added)+len(c.Removed)+len(c.Changed) == 0 }

// removedCause is the detail of the link_down a removed or replaced
// driver's consumers see.
const removedCause = "driver stopped by a configuration reload"

// Update applies a new driver list (a configuration reload): a driver
// whose config is unchanged is untouched (its process, PID and monitors
// stay); a removed driver is stopped; a changed one is stopped and
// started again with its new config, keeping every device it monitored
// (the configured ones and those monitored since through the API); an
// added one is started with its configured monitors. OnEvent sees a
// link_down (Seq 0, CauseDriverFailure) for every driver stopped, then
// the replacement's own link events. The drivers are checked before
// anything is stopped: an invalid list changes nothing.
func (m *Manager) Update(ctx context.Context, drivers []config.CTIDriver) (Changes, error) {
	m.upd.Lock()
	defer m.upd.Unlock()
	m.mu.Lock()
	old := make(map[string]*driverState, len(m.status))
	for n, st := range m.status {
		old[n] = st
	}
	m.mu.Unlock()

	var ch Changes
	seen := map[string]bool{}
	for _, d := range drivers {
		if seen[d.Name] {
			return Changes{}, fmt.Errorf("cti: driver %s: configured twice", d.Name)
		}
		seen[d.Name] = true
		st := old[d.Name]
		switch {
		case st == nil:
			ch.Added = append(ch.Added, d.Name)
		case !reflect.DeepEqual(st.cfg, d):
			ch.Changed = append(ch.Changed, d.Name)
		}
		// Check what the supervisor checks (the executable's checksum
		// format, timeouts) before stopping anything.
		if st == nil || !reflect.DeepEqual(st.cfg, d) {
			if _, err := plugins.NewSupervisor(m.pluginConfig(d, &driverState{cfg: d})); err != nil {
				return Changes{}, fmt.Errorf("cti: %w", err)
			}
		}
	}
	for n := range old {
		if !seen[n] {
			ch.Removed = append(ch.Removed, n)
		}
	}
	slices.Sort(ch.Removed)

	keep := map[string][]string{} // changed driver → devices to monitor again
	for _, n := range append(slices.Clone(ch.Removed), ch.Changed...) {
		st := old[n]
		keep[n] = st.sup.Monitors()
		if err := m.host.Remove(n); err != nil {
			return ch, fmt.Errorf("cti: %w", err)
		}
		m.mu.Lock()
		delete(m.status, n)
		m.mu.Unlock()
		m.opts.Logger.Info("cti driver stopped by reload", "driver", n, "pid_was", st.sup.PID())
		if m.opts.OnEvent != nil {
			now := time.Now()
			m.opts.OnEvent(plugins.Event{Type: plugins.EventLinkDown, Cause: plugins.CauseDriverFailure,
				RawCause: removedCause, Time: now, Received: now, Driver: n})
		}
	}
	byName := map[string]config.CTIDriver{}
	for _, d := range drivers {
		byName[d.Name] = d
	}
	for _, n := range append(slices.Clone(ch.Changed), ch.Added...) {
		d := byName[n]
		st := &driverState{cfg: d}
		sup, err := m.host.Add(m.pluginConfig(d, st))
		if err != nil {
			return ch, fmt.Errorf("cti: %w", err)
		}
		st.sup = sup
		m.mu.Lock()
		m.status[n] = st
		running := m.running
		m.mu.Unlock()
		if running {
			devs := d.Monitor
			for _, dev := range keep[n] {
				if !slices.Contains(devs, dev) {
					devs = append(slices.Clone(devs), dev)
				}
			}
			m.prepare(ctx, st, devs)
			if err := m.host.Start(n); err != nil {
				return ch, fmt.Errorf("cti: driver %s: %w", n, err)
			}
		}
	}
	m.mu.Lock()
	m.order = m.order[:0:0]
	for _, d := range drivers {
		m.order = append(m.order, d.Name)
	}
	m.mu.Unlock()
	return ch, nil
}
