package cti

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

// ErrUnknownDriver means no driver of that name is configured.
var ErrUnknownDriver = errors.New("no such cti driver")

// restartCause is the detail of the link_down consumers see when an
// administrator restarts a driver.
const restartCause = "driver restarted by an administrator"

// Restart stops the driver name and starts it again with the same
// config, keeping every device it monitored, as Update does for a changed
// driver (the admin UI's restart button). The other drivers are untouched.
func (m *Manager) Restart(ctx context.Context, name string) error {
	m.upd.Lock()
	defer m.upd.Unlock()
	m.mu.Lock()
	st := m.status[name]
	running := m.running
	m.mu.Unlock()
	if st == nil {
		return fmt.Errorf("cti: restart %s: %w", name, ErrUnknownDriver)
	}
	keep := st.sup.Monitors()
	pid := st.sup.PID()
	if err := m.host.Remove(name); err != nil {
		return fmt.Errorf("cti: restart %s: %w", name, err)
	}
	m.opts.Logger.Info("cti driver stopped for a restart", "driver", name, "pid_was", pid)
	if m.opts.OnEvent != nil {
		now := time.Now()
		m.opts.OnEvent(plugins.Event{Type: plugins.EventLinkDown, Cause: plugins.CauseDriverFailure,
			RawCause: restartCause, Time: now, Received: now, Driver: name})
	}
	next := &driverState{cfg: st.cfg}
	sup, err := m.host.Add(m.pluginConfig(st.cfg, next))
	if err != nil {
		m.mu.Lock()
		delete(m.status, name)
		m.mu.Unlock()
		return fmt.Errorf("cti: restart %s: %w", name, err)
	}
	next.sup = sup
	m.mu.Lock()
	m.status[name] = next
	m.mu.Unlock()
	if !running {
		return nil
	}
	devs := st.cfg.Monitor
	for _, d := range keep {
		if !slices.Contains(devs, d) {
			devs = append(append([]string(nil), devs...), d)
		}
	}
	m.prepare(ctx, next, devs)
	if err := m.host.Start(name); err != nil {
		return fmt.Errorf("cti: restart %s: %w", name, err)
	}
	return nil
}
