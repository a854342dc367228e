package relay

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Side is one side of a Session: the RTP and RTCP sockets that one far end
// (a phone, a trunk) sends to, and what is known of that far end.
//
// What arrives on a side's sockets from its far end goes out of the other
// side's sockets to the other far end, when both sides' directions allow it:
// A→B flows when A said sendrecv or sendonly and B said sendrecv or recvonly
// (and B's address is not 0.0.0.0). Packets that may not flow are counted in
// Stats.Dropped. RTCP always flows, whatever the directions: RFC 3264 §5.1
// keeps RTCP going on held and inactive streams.
type Side struct {
	name    string
	sess    *Session
	peer    *Side
	port    int   // the even RTP port; RTCP is port+1
	rtpSock *sock // the I/O engine's sockets (io_linux.go, io_goroutine.go)
	rtcp    *sock

	// dst is where the other side's readers send this side's media. It is
	// replaced (never changed in place) under mu when the remote or a latch
	// changes, so the packet path reads it without a lock.
	dst atomic.Pointer[dest]

	mu        sync.Mutex
	remote    Remote
	remoteSet bool
	rtpLatch  netip.AddrPort
	rtcpLatch netip.AddrPort
	rtpSeen   int64 // monotonic ns of the last packet from rtpLatch
	rx        rxStats
	st        Stats // counters; Jitter, LastPacket and Source are filled by Stats
	last      int64 // monotonic ns of the last accepted RTP packet, 0 if none
}

// dest is the immutable forwarding target of a side.
type dest struct {
	rtp, rtcp netip.AddrPort
	recv      bool // the side wants media (direction and not 0.0.0.0)
}

// epoch is the base of the monotonic clock used on the packet path.
var epoch = time.Now()

func monotonic() int64 { return int64(time.Since(epoch)) }

// Name is "A" or "B".
func (s *Side) Name() string { return s.name }

// LocalAddr is the local RTP address (the bound IP and the even port). The
// B2BUA writes this port in the m= line of the SDP it sends to this side's
// far end; RTCP is on the next port (LocalRTCPAddr).
func (s *Side) LocalAddr() netip.AddrPort {
	return s.rtpSock.local
}

// LocalRTCPAddr is the local RTCP address, LocalAddr's port + 1.
func (s *Side) LocalRTCPAddr() netip.AddrPort {
	return s.rtcp.local
}

// Port is the local RTP port (even); RTCP uses Port()+1.
func (s *Side) Port() int { return s.port }

// SetRemote records what this side's SDP (offer or answer) says. Call it for
// every SDP the far end sends, including re-INVITEs and UPDATEs. When the RTP
// or RTCP address changed (or on the first call), the side forgets its latched
// sources and latches again; a change of direction alone (hold, resume) keeps
// them.
func (s *Side) SetRemote(r Remote) {
	r.RTP = unmap(r.RTP)
	r.RTCP = unmap(r.RTCP)
	s.mu.Lock()
	moved := !s.remoteSet || r.RTP != s.remote.RTP || r.rtcp() != s.remote.rtcp()
	s.remote = r
	s.remoteSet = true
	if moved {
		s.rtpLatch = netip.AddrPort{}
		s.rtcpLatch = netip.AddrPort{}
	}
	s.updateDst()
	s.mu.Unlock()
}

// Remote returns what SetRemote last recorded.
func (s *Side) Remote() Remote {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remote
}

// Stats returns a copy of the side's counters.
func (s *Side) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.Expected = s.rx.expected()
	st.Lost = s.rx.lost()
	rate := s.remote.clockRate()
	st.Jitter = time.Duration(uint64(s.rx.jitterUnits()) * uint64(time.Second) / uint64(rate))
	if s.last != 0 {
		st.LastPacket = epoch.Add(time.Duration(s.last))
	}
	st.Source = s.rtpLatch
	return st
}

// updateDst publishes where media for this side's far end goes. Called with
// s.mu held.
func (s *Side) updateDst() {
	d := &dest{recv: s.remote.canReceive()}
	latching := s.sess.relay.cfg.Latching
	switch {
	case latching == LatchOff:
		d.rtp, d.rtcp = s.remote.RTP, s.remote.rtcp()
	case s.rtpLatch.IsValid():
		d.rtp = s.rtpLatch
		switch {
		case s.rtcpLatch.IsValid():
			d.rtcp = s.rtcpLatch
		case s.rtpLatch != s.remote.RTP && s.rtpLatch.Port() < 65535:
			// behind NAT: the SDP's RTCP port says nothing; the usual
			// mapping keeps RTCP next to RTP
			d.rtcp = netip.AddrPortFrom(s.rtpLatch.Addr(), s.rtpLatch.Port()+1)
		default:
			d.rtcp = s.remote.rtcp()
		}
	default:
		d.rtp, d.rtcp = s.remote.RTP, s.remote.rtcp()
		if s.rtcpLatch.IsValid() {
			d.rtcp = s.rtcpLatch
		}
	}
	if d.rtp.IsValid() && (d.rtp.Port() == 0 || d.rtp.Addr().IsUnspecified()) {
		d.rtp = netip.AddrPort{}
	}
	if d.rtcp.IsValid() && (d.rtcp.Port() == 0 || d.rtcp.Addr().IsUnspecified()) {
		d.rtcp = netip.AddrPort{}
	}
	s.dst.Store(d)
}

// acceptRTP applies the latching rules (see Latching) to an RTP packet from
// src. Called with s.mu held.
func (s *Side) acceptRTP(src netip.AddrPort, now int64) bool {
	cfg := &s.sess.relay.cfg
	if cfg.Latching == LatchOff {
		return s.remoteSet && src == s.remote.RTP
	}
	if src == s.rtpLatch {
		s.rtpSeen = now
		return true
	}
	if s.rtpLatch.IsValid() && (cfg.RelatchAfter < 0 || now-s.rtpSeen < int64(cfg.RelatchAfter)) {
		return false
	}
	if !cfg.Latching.accepts(src, s.sdpRTP()) {
		return false
	}
	if s.rtpLatch.IsValid() {
		s.rtcpLatch = netip.AddrPort{} // the far end moved: RTCP moved too
	}
	s.rtpLatch = src
	s.rtpSeen = now
	s.updateDst()
	return true
}

// acceptRTCP is acceptRTP for RTCP: the RTCP source latches on the first
// packet and re-latches only when the RTP latch or the remote changes.
func (s *Side) acceptRTCP(src netip.AddrPort) bool {
	cfg := &s.sess.relay.cfg
	if cfg.Latching == LatchOff {
		return s.remoteSet && (src == s.remote.rtcp() || src == s.remote.RTP)
	}
	if src == s.rtcpLatch || src == s.rtpLatch { // rtpLatch: rtcp-mux, RFC 5761
		return true
	}
	if s.rtcpLatch.IsValid() {
		return false
	}
	if !cfg.Latching.accepts(src, s.sdpRTP()) {
		return false
	}
	s.rtcpLatch = src
	s.updateDst()
	return true
}

func (s *Side) sdpRTP() netip.AddrPort {
	if !s.remoteSet {
		return netip.AddrPort{}
	}
	return s.remote.RTP
}

// input handles one datagram that arrived on one of s's sockets (the RTCP one
// when onRTCP) from src. It returns the socket of the other side to send it
// out of and where to, or ok false when it is not forwarded. The I/O engine
// reads into its own buffer and sends b itself, so nothing here allocates.
func (s *Side) input(b []byte, src netip.AddrPort, onRTCP bool) (out *sock, to netip.AddrPort, ok bool) {
	src = unmap(src)
	n := len(b)
	switch {
	case n < 4 || b[0]>>6 != 2 || n >= maxPacket:
		s.countInvalid()
		return nil, to, false
	case onRTCP || (b[1] >= 192 && b[1] <= 223):
		// on the RTCP port, or multiplexed on the RTP port (RFC 5761 §4)
		to, ok = s.onRTCP(b, src)
		return s.peer.rtcp, to, ok
	case n < 12:
		s.countInvalid()
		return nil, to, false
	default:
		to, ok = s.onRTP(b, src)
		return s.peer.rtpSock, to, ok
	}
}

func (s *Side) countInvalid() {
	s.mu.Lock()
	s.st.Invalid++
	s.mu.Unlock()
}

// onRTP handles one RTP packet from src: latching and counters. It returns
// where to forward it on the peer's RTP socket, if anywhere.
func (s *Side) onRTP(b []byte, src netip.AddrPort) (netip.AddrPort, bool) {
	now := monotonic()
	s.mu.Lock()
	if !s.acceptRTP(src, now) {
		s.st.Ignored++
		s.mu.Unlock()
		return netip.AddrPort{}, false
	}
	s.st.Packets++
	s.st.Bytes += uint64(len(b))
	s.last = now
	pt := b[1] & 0x7f
	rate := int64(s.remote.clockRate())
	arrival := now/int64(time.Second)*rate + now%int64(time.Second)*rate/int64(time.Second)
	ev := s.remote.EventPayloadType
	s.rx.add(binary.BigEndian.Uint32(b[8:12]), binary.BigEndian.Uint16(b[2:4]),
		binary.BigEndian.Uint32(b[4:8]), pt, arrival, ev != 0 && pt == ev)
	p := s.peer.dst.Load()
	fwd := s.remote.canSend() && p.recv && p.rtp.IsValid()
	if fwd {
		s.st.Forwarded++
	} else {
		s.st.Dropped++
	}
	s.mu.Unlock()
	s.sess.lastRTP.Store(now)
	return p.rtp, fwd
}

// onRTCP handles one RTCP packet from src; RTCP flows whatever the
// directions. It returns where to forward it on the peer's RTCP socket.
func (s *Side) onRTCP(b []byte, src netip.AddrPort) (netip.AddrPort, bool) {
	s.mu.Lock()
	if !s.acceptRTCP(src) {
		s.st.Ignored++
		s.mu.Unlock()
		return netip.AddrPort{}, false
	}
	s.st.RTCPPackets++
	s.st.RTCPBytes += uint64(len(b))
	s.mu.Unlock()
	p := s.peer.dst.Load()
	return p.rtcp, p.rtcp.IsValid()
}

// flows reports whether media may flow from s to its peer. Takes both locks
// one after the other.
func (s *Side) flows() bool {
	s.mu.Lock()
	send := s.remote.canSend()
	s.mu.Unlock()
	return send && s.peer.dst.Load().recv
}

func unmap(a netip.AddrPort) netip.AddrPort {
	if a.Addr().Is4In6() {
		return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	}
	return a
}
