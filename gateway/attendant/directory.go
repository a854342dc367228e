package attendant

import (
	"context"
	"errors"

	"github.com/switchboard-gw/switchboard/plugins"
)

// The device directory: every lamp has a name. A source that declares
// plugins.ServiceListDevices is paged through (ListDevices) when it starts
// and each time its link comes back; the names of the devices the model
// watches are kept. Names a PBX gives in call events (the calling name of
// a monitored device) fill the gaps the directory leaves.

// directoryPage is how many entries the model asks for per page.
const directoryPage = 500

// maxDirectoryPages bounds one load (a driver that never ends its paging
// is a bug, not a reason to spin).
const maxDirectoryPages = 1000

// loadDirectoryLocked pages through source's directory in the
// background, once at a time per source.
func (m *Model) loadDirectoryLocked(source string) {
	src := m.sources[source]
	if src == nil || m.dirLoading[source] {
		return
	}
	m.dirLoading[source] = true
	m.spawn(func(ctx context.Context) {
		defer func() {
			m.mu.Lock()
			delete(m.dirLoading, source)
			m.mu.Unlock()
		}()
		cctx, cancel := context.WithTimeout(ctx, m.opts.SnapshotTimeout)
		caps, err := src.Capabilities(cctx)
		cancel()
		if err != nil || !caps.Supports(plugins.ServiceListDevices) {
			return
		}
		token := ""
		for range maxDirectoryPages {
			pctx, cancel := context.WithTimeout(ctx, m.opts.SnapshotTimeout)
			page, err := src.ListDevices(pctx, token, directoryPage)
			cancel()
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, plugins.ErrNotSupported) {
					m.log.Warn("attendant: device directory failed", "source", source, "error", err)
				}
				return
			}
			m.applyDirectory(source, page.Devices)
			if page.Next == "" || page.Next == token {
				return
			}
			token = page.Next
		}
		m.log.Warn("attendant: device directory did not end", "source", source, "pages", maxDirectoryPages)
	})
}

// applyDirectory names the watched devices of source that entries list,
// and publishes those whose name changed.
func (m *Model) applyDirectory(source string, entries []plugins.DirectoryEntry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for _, e := range entries {
		d := m.devices[ID(source, e.Device)]
		if d == nil {
			continue
		}
		newCat := e.Category != plugins.CategoryUnspecified && d.category != e.Category
		if newCat {
			d.category = e.Category // a queue is one before its first call (queue.go)
		}
		if !newCat && (e.Name == "" || d.name == e.Name && d.dirName) {
			continue
		}
		if e.Name != "" {
			d.name, d.dirName = e.Name, true
		}
		m.publishDeviceLocked(d, plugins.Event{}, now)
	}
}

// learnNamesLocked takes the names a call event gives of monitored
// devices that the directory did not name.
func (m *Model) learnNamesLocked(source string, ev plugins.Event) {
	for _, p := range []struct{ dev, name string }{{ev.Calling, ev.CallingName}, {ev.Called, ev.CalledName}, {ev.Other, ev.OtherName}} {
		if p.dev == "" || p.name == "" {
			continue
		}
		if d := m.devices[ID(source, p.dev)]; d != nil && !d.dirName && d.name != p.name {
			d.name = p.name
			if p.dev != ev.Device {
				m.publishDeviceLocked(d, plugins.Event{}, m.now())
			}
		}
	}
}
