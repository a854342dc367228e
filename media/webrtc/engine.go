package webrtc

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-gw/switchboard/internal/sockbuf"
	"github.com/switchboard-gw/switchboard/media/relay"
	"github.com/switchboard-gw/switchboard/media/webrtc/srtpmux"
)

// Engine owns the ICE UDP mux every leg shares and the legs made on it.
// Make one with New, end it with Close.
type Engine struct {
	cfg  Config
	conn *net.UDPConn        // SlowPath: the socket, pion's alone
	fast *srtpmux.Mux        // else: the socket with the SRTP fast path
	in   []*relay.InputBatch // fast: the packets each reader relays towards the phones, sent once per read batch
	mux  ice.UDPMux
	se   webrtc.SettingEngine

	mu     sync.Mutex
	legs   map[*Leg]struct{}
	closed bool

	rtts rttHist // the round trips measured on every leg (rtt.go)
}

// New opens the ICE UDP socket and returns an Engine.
func New(cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, legs: map[*Leg]struct{}{}}
	laddr := netip.AddrPortFrom(cfg.ListenIP, uint16(cfg.Port))
	if cfg.SlowPath {
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(laddr))
		if err != nil {
			return nil, fmt.Errorf("webrtc: listen: %w", err)
		}
		if cfg.SocketBuffer > 0 {
			want := sockbuf.Sizes{Read: cfg.SocketBuffer, Write: cfg.SocketBuffer}
			if got, err := sockbuf.Set(conn, want); err != nil || got.Capped(want) {
				cfg.Logger.Warn("webrtc: the ICE socket's buffers were capped by net.core.rmem_max/wmem_max (raise them, or give the process CAP_NET_ADMIN)",
					"asked", cfg.SocketBuffer, "granted_read", got.Read, "granted_write", got.Write, "err", err)
			}
		}
		e.conn = conn
		e.mux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn})
	} else {
		fm, err := srtpmux.ListenReaders(laddr, cfg.ICEReaders, cfg.SocketBuffer, cfg.Logger)
		if err != nil {
			return nil, fmt.Errorf("webrtc: %w", err)
		}
		e.fast = fm
		if got := fm.ReadBuffer(); got > 0 && got < cfg.SocketBuffer {
			cfg.Logger.Warn("webrtc: the ICE sockets' receive buffers were capped by net.core.rmem_max: every browser's media arrives there, and a reader stall longer than the buffer loses packets (raise net.core.rmem_max, or give the process CAP_NET_ADMIN)",
				"asked", cfg.SocketBuffer, "granted", got, "sockets", fm.Readers())
		}
		e.in = make([]*relay.InputBatch, fm.Readers())
		for i := range e.in {
			e.in[i] = relay.NewInputBatch()
		}
		fm.OnReadBatch(func(reader int) { e.in[reader].Flush() })
		e.mux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: fm.PacketConn()})
	}

	se := webrtc.SettingEngine{}
	se.SetLite(true) // RFC 8445 §2.5: we answer checks, the browser nominates
	nets := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if cfg.ListenIP.Is6() && !cfg.ListenIP.Is4In6() {
		nets = []webrtc.NetworkType{webrtc.NetworkTypeUDP6}
	}
	se.SetNetworkTypes(nets)
	se.SetICEUDPMux(e.mux)
	// An ICE-lite agent resolves no candidates (RFC 8445 §2.5: it learns
	// the browser's address from its checks), so a browser's mDNS names
	// (RFC 8839 §5.1, ".local") need no resolver: no mDNS socket and its
	// four goroutines per leg.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	if len(cfg.PublicIPs) > 0 {
		ips := make([]string, len(cfg.PublicIPs))
		for i, ip := range cfg.PublicIPs {
			ips[i] = ip.String()
		}
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: ips, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			_ = e.mux.Close()
			return nil, fmt.Errorf("webrtc: public addresses: %w", err)
		}
	}
	// Consent (RFC 7675 §5.1): disconnected after a third of the timeout
	// without anything from the browser, failed (the leg ends) at the
	// timeout. The browser checks consent every ~5 s.
	disc := cfg.ConsentTimeout / 3
	se.SetICETimeouts(disc, cfg.ConsentTimeout-disc, 0)
	// RFC 8842 §5.3: the answerer to an actpass offer takes the active
	// (DTLS client) role; pion's offers say actpass.
	if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleClient); err != nil {
		_ = e.mux.Close()
		return nil, err
	}
	se.DisableMediaEngineCopy(true) // each leg has its own MediaEngine already
	e.se = se
	return e, nil
}

// Addr is the local address of the ICE UDP socket.
func (e *Engine) Addr() netip.AddrPort {
	if e.fast != nil {
		return e.fast.LocalAddr()
	}
	return e.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// ICEReaders is the number of sockets (and readers) sharing the ICE port:
// Config.ICEReaders on the fast path where SO_REUSEPORT spreads, else 1.
func (e *Engine) ICEReaders() int {
	if e.fast == nil {
		return 1
	}
	return e.fast.Readers()
}

// ReadBuffer is the receive buffer the kernel granted each ICE socket on
// the fast path (Config.SocketBuffer, or less where net.core.rmem_max
// capped it); 0 with SlowPath or where unknown.
func (e *Engine) ReadBuffer() int {
	if e.fast == nil {
		return 0
	}
	return e.fast.ReadBuffer()
}

// FastCounters are the fast path's counters (zero with SlowPath).
func (e *Engine) FastCounters() srtpmux.Counters {
	if e.fast == nil {
		return srtpmux.Counters{}
	}
	return e.fast.Counters()
}

// Len is the number of open legs.
func (e *Engine) Len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.legs)
}

// api returns a pion API whose MediaEngine knows exactly codecs, with their
// payload types: a leg offers, or answers with, nothing else. keys, when
// not nil, captures the leg's DTLS secrets for the fast path.
func (e *Engine) api(codecs []codec, keys *srtpmux.Keys) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range codecs {
		if err := m.RegisterCodec(params(c), webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("webrtc: codec %v: %w", c, err)
		}
	}
	// Interceptors: RTCP sender and receiver reports only (RFC 3550 §6.4).
	// pion's defaults add NACK, TWCC and a stats recorder on every packet,
	// which audio relayed as it comes does not use.
	// On the fast path pion sees no media, so its reports would say
	// nothing: no interceptor (and none of its goroutines).
	ir := &interceptor.Registry{}
	se := e.se
	if keys != nil {
		se.SetDTLSKeyLogWriter(keys) // the fast path's keys (srtpmux.Keys)
	} else if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, fmt.Errorf("webrtc: interceptors: %w", err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(ir)), nil
}

func (e *Engine) add(l *Leg) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	e.legs[l] = struct{}{}
	return nil
}

func (e *Engine) remove(l *Leg) {
	e.mu.Lock()
	delete(e.legs, l)
	e.mu.Unlock()
}

// Close closes every leg and the ICE socket.
func (e *Engine) Close() error {
	e.mu.Lock()
	e.closed = true
	all := make([]*Leg, 0, len(e.legs))
	for l := range e.legs {
		all = append(all, l)
	}
	e.mu.Unlock()
	for _, l := range all {
		_ = l.Close()
	}
	err := e.mux.Close()
	if e.fast != nil {
		err = errors.Join(err, e.fast.Close())
		for _, b := range e.in {
			b.Close()
		}
	}
	return err
}
