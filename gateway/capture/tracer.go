package capture

import (
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"
)

// reg maps the sockets of every Tap in the process, for the write hook:
// sipgo has one tracer per process.
var reg struct {
	mu      sync.RWMutex
	taps    map[*Tap]struct{}
	byLocal map[netip.AddrPort]*Tap

	unattributed atomic.Uint64
}

var installOnce sync.Once

// Install turns on sipgo's write hook for this process. Call it before any
// SIP socket is served (sipserver does, from init): sipgo reads the switch
// without synchronisation. Messages go to the Tap whose listener wrote
// them, or, on a connection the gateway dialled, to the only Tap of the
// process (a process with several gateways, such as a test binary, drops
// those writes and counts them in Unattributed).
func Install() {
	installOnce.Do(func() {
		sip.SIPDebugTracer(tracer{})
		sip.SIPDebug = true
	})
}

func register(t *Tap, ls []Listener) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if reg.taps == nil {
		reg.taps, reg.byLocal = map[*Tap]struct{}{}, map[netip.AddrPort]*Tap{}
	}
	reg.taps[t] = struct{}{}
	for _, l := range ls {
		reg.byLocal[l.Addr] = t
	}
}

func unregister(t *Tap) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	delete(reg.taps, t)
	for a, o := range reg.byLocal {
		if o == t {
			delete(reg.byLocal, a)
		}
	}
}

// owner is the Tap that wrote from local.
func owner(local netip.AddrPort) *Tap {
	reg.mu.RLock()
	defer reg.mu.RUnlock()
	if t := reg.byLocal[local]; t != nil {
		return t
	}
	if t := reg.byLocal[netip.AddrPortFrom(unspecified(local.Addr()), local.Port())]; t != nil {
		return t
	}
	if len(reg.taps) == 1 {
		for t := range reg.taps {
			return t
		}
	}
	return nil
}

type tracer struct{}

// SIPTraceRead implements sip.SIPTracer: reads are captured as parsed
// messages (Tap.onMessage), not here.
func (tracer) SIPTraceRead(string, string, string, []byte) {}

// SIPTraceWrite implements sip.SIPTracer. transport is UDP, TCP (also TLS)
// or WS (also WSS); sipgo writes one message per call.
func (tracer) SIPTraceWrite(transport, laddr, raddr string, msg []byte) {
	if len(msg) < 8 {
		return
	}
	local, err := netip.ParseAddrPort(laddr)
	if err != nil {
		return
	}
	local = unmap(local)
	t := owner(local)
	if t == nil {
		reg.mu.RLock()
		n := len(reg.taps)
		reg.mu.RUnlock()
		if n > 0 {
			reg.unattributed.Add(1)
		}
		return
	}
	if transport == "UDP" && t.wrapsUDP(local) {
		return // captured before the write (Tap.PacketConn)
	}
	remote, err := netip.ParseAddrPort(raddr)
	if err != nil {
		return
	}
	t.written(transport, local, unmap(remote), msg)
}
