package cisco

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/cisco/xsi"
	"github.com/switchboard-gw/switchboard/drivers/pbxlink"
	"github.com/switchboard-gw/switchboard/plugins"
)

// parts are the pieces of a device's state a snapshot reads from the Xsi
// server, one Xsi-Actions query each (the calls: GET calls, then each
// call). Each event package carries the changes of one part only
// (XSISubscription.xsd EventPackage: a call package, Do Not Disturb, Call
// Forwarding Always/Busy/No Answer, Call Center Agent), so a
// sequenceNumber gap on one subscription can only have lost that part's
// changes: the resync reads that part again, not the five others.
type parts uint8

const (
	partCalls parts = 1 << iota
	partDND
	partAgent
	partFwdAlways
	partFwdBusy
	partFwdNoAnswer

	partAll = partCalls | partDND | partAgent | partFwdAlways | partFwdBusy | partFwdNoAnswer
)

// fwdParts maps the model's forwarding types to their parts.
var fwdParts = map[plugins.ForwardingType]parts{plugins.ForwardImmediate: partFwdAlways,
	plugins.ForwardBusy: partFwdBusy, plugins.ForwardNoAnswer: partFwdNoAnswer}

// partOf is the part whose changes event package pkg carries; 0 for a
// package whose state no snapshot reads (Voice Mail Message Summary: the
// last event seen is what the driver shows).
func (d *Driver) partOf(pkg string) parts {
	switch pkg {
	case d.cfg.EventPackage:
		return partCalls
	case xsi.PackageDoNotDisturb:
		return partDND
	case xsi.PackageCallCenterAgent:
		return partAgent
	case xsi.PackageCallForwardingAlways:
		return partFwdAlways
	case xsi.PackageCallForwardingBusy:
		return partFwdBusy
	case xsi.PackageCallForwardingNoAnswer:
		return partFwdNoAnswer
	}
	return 0
}

// subPart is the part subscription id of device's monitor m carries (its
// call subscription or one of its service ones); 0 if unknown. Called
// with d.mu held.
func (d *Driver) subPart(m *monitor, id string) parts {
	if id == m.sub {
		return partCalls
	}
	for pkg, sid := range m.svcSubs {
		if sid == id {
			return d.partOf(pkg)
		}
	}
	for pkg, sid := range d.wide.subs {
		if sid == id {
			return d.partOf(pkg)
		}
	}
	return 0
}

// snapshotRequests bounds the snapshot queries in flight over the whole
// driver: with snapshot_parallel a device's queries go out together (six
// round trips at once instead of one after the other: against an Xsi
// server 30 ms away, 60 instead of 180 ms per device), and the devices of
// a restore overlap.
// They have an HTTP client of their own with as many connections, kept
// alive, and never more (snapClient): before, the host's 64 MonitorStarts
// of a restore, the 8 event responses and the heartbeats shared the one
// pool of 64 kept-alive connections, and what went beyond it opened and
// closed a TLS connection per request (a dial storm, seen in goroutine
// dumps of restores); heartbeats and event responses keep their own pool.
const snapshotRequests = 48

// snapClient is the snapshot queries' HTTP client: base's transport
// settings and cookie jar, at most snapshotRequests connections, all kept
// alive between requests.
func snapClient(base *http.Client, timeout time.Duration) *http.Client {
	t := base.Transport.(*http.Transport).Clone()
	t.MaxConnsPerHost = snapshotRequests
	t.MaxIdleConnsPerHost = snapshotRequests
	// A cold pool (a new process restoring every device) would open its
	// 48 connections at once: 48 TLS handshakes in one burst of CPU that
	// held up the event channel's reader and heartbeats past a short
	// heartbeat_timeout (tests under -race). tlsDials at a time instead.
	sem := make(chan struct{}, tlsDials)
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}, Config: t.TLSClientConfig.Clone()}
	t.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		defer func() { <-sem }()
		return dialer.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: t, Jar: base.Jar}
}

// tlsDials is how many TLS connections the snapshot pool opens at once.
const tlsDials = 4

// pbxSnapshotParts asks the server for the parts p of m's state, the
// queries one after the other, or together with snapshot_parallel
// (snapshotRequests at most over the driver). The
// calls are required (an error is returned); the service queries are best
// effort: a service not assigned to the user leaves it off. The snapshot
// holds only the parts asked for.
func (d *Driver) pbxSnapshotParts(ctx context.Context, m *monitor, p parts) (plugins.DeviceSnapshot, []*halfState, error) {
	s := plugins.DeviceSnapshot{Device: m.device}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		halves   []*halfState
		callsErr error
	)
	// spawn runs f on its own goroutine (after wait, all are done) with
	// snapshot_parallel, else inline.
	spawn := func(wg *sync.WaitGroup, f func()) {
		if !d.cfg.SnapshotParallel {
			f()
			return
		}
		wg.Go(f)
	}
	get := func(path string, out any) error {
		select {
		case d.snapSem <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("xsi GET %s: %w", path, ctx.Err())
		}
		defer func() { <-d.snapSem }()
		return d.doWith(ctx, d.snapc, http.MethodGet, path, nil, nil, out)
	}
	if p&partCalls != 0 {
		spawn(&wg, func() {
			var calls xsi.Calls
			if err := get(userPath(m.userID, "/calls"), &calls); err != nil {
				callsErr = fmt.Errorf("snapshot %s: %w", m.device, err)
				return
			}
			var cw sync.WaitGroup
			for _, it := range calls.Calls {
				spawn(&cw, func() {
					var c xsi.CallDoc
					if get(userPath(m.userID, "/calls/"+url.PathEscape(it.CallID)), &c) != nil {
						return // released meanwhile
					}
					st := mapState(c.State, c.Personality)
					if st == plugins.StateNull || st == plugins.StateUnspecified {
						return
					}
					d.mu.Lock()
					other := d.deviceOf(c.RemoteParty)
					d.mu.Unlock()
					mu.Lock()
					halves = append(halves, &halfState{xsiID: c.CallID, call: callOf(c.Call), state: st,
						personality: c.Personality, other: other})
					mu.Unlock()
				})
			}
			cw.Wait()
		})
	}
	if p&partDND != 0 {
		spawn(&wg, func() {
			var dnd xsi.DoNotDisturb
			if get(userPath(m.userID, "/services/DoNotDisturb"), &dnd) == nil {
				mu.Lock()
				s.DND = dnd.Active
				mu.Unlock()
			}
		})
	}
	if p&partAgent != 0 {
		spawn(&wg, func() {
			var cc xsi.CallCenter
			if get(userPath(m.userID, "/services/"+xsi.ServiceCallCenter), &cc) == nil {
				mu.Lock()
				s.AgentState = agentFromACD(cc.AgentACDState)
				mu.Unlock()
			}
		})
	}
	for _, t := range []plugins.ForwardingType{plugins.ForwardImmediate, plugins.ForwardBusy, plugins.ForwardNoAnswer} {
		if p&fwdParts[t] == 0 {
			continue
		}
		spawn(&wg, func() {
			var f xsi.Forwarding
			if get(userPath(m.userID, "/services/"+forwardServices[t]), &f) == nil && f.Active {
				mu.Lock()
				s.Forwarding = append(s.Forwarding, plugins.Forwarding{Type: t, To: f.ForwardToPhoneNumber, Enabled: true})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if callsErr != nil {
		return s, nil, callsErr
	}
	return s, halves, nil
}

// applySnap puts the parts of snapshot it into st. The calls yield to
// call events applied since the snapshot was asked for (it.touched; DND
// and forwarding events do not make them older): then the calls are asked
// again (resnap.go), unless a full call subscription event came since;
// after pbxlink.MaxResnaps attempts the snapshot is taken regardless.
// It reports whether the calls were asked again: the re-snapshot tells
// the host (RESYNC) once it is taken. Called with d.mu held.
func (d *Driver) applySnap(st *devState, it item) (again bool) {
	p := it.parts
	if p == 0 {
		p = partAll
	}
	if p&partCalls != 0 {
		if it.resnap >= pbxlink.MaxResnaps {
			it.touched = st.touched // overtaken every time: the events after it correct it
		}
		if st.lastCall <= it.touched { // no call event since it was asked (feature events do not make it older)
			st.halves = map[string]*halfState{}
			for _, h := range it.halves {
				st.halves[h.xsiID] = h
			}
		} else if st.lastFull <= it.touched {
			d.resnap(it.gen, it.snap.Device, it.resnap+1) // call events overtook it: ask again (resnap.go)
			again = true
		}
	}
	if p&partDND != 0 {
		st.dnd = it.snap.DND
	}
	if p&partAgent != 0 {
		st.agent = it.snap.AgentState
	}
	if st.fwd == nil {
		st.fwd = map[plugins.ForwardingType]plugins.Forwarding{}
	}
	for t, fp := range fwdParts {
		if p&fp != 0 {
			delete(st.fwd, t)
		}
	}
	for _, f := range it.snap.Forwarding {
		st.fwd[f.Type] = f
	}
	return again
}
