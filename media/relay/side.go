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
	ep      Endpoint // where the sockets are bound, what SDP says
	port    int      // the even RTP port; RTCP is port+1
	rtpSock *sock    // the I/O engine's sockets (io_linux.go, io_goroutine.go)
	rtcp    *sock

	// dst is where the other side's readers send this side's media. It is
	// replaced (never changed in place) under mu when the remote or a latch
	// changes, so the packet path reads it without a lock.
	dst atomic.Pointer[dest]

	inproc atomic.Pointer[inprocEnd] // an in-process far end (inprocess.go, batch.go)

	mu        sync.Mutex
	remote    Remote
	remoteSet bool
	rtpL      latch // the RTP source (latching.go)
	rtcpL     latch // the RTCP source, learnt the same way
	ssrc      uint32
	ssrcSet   bool // ssrc is the latched stream's SSRC
	rx        rxStats
	out       outStream // what goes out to the peer's far end, for events (inject.go)
	st        Stats     // counters; Jitter, LastPacket and Source are filled by Stats
	last      int64     // monotonic ns of the last accepted RTP packet, 0 if none
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

// Advertised is the address to write in the SDP sent to this side's far
// end (c=, RFC 4566 §5.7): the endpoint's Advertise, else its Bind address.
// It is the zero Addr when the side is bound on every address (0.0.0.0,
// ::) and nothing was advertised: the caller then knows better.
func (s *Side) Advertised() netip.Addr { return s.ep.advertised() }

// LocalRTCPAddr is the local RTCP address, LocalAddr's port + 1.
func (s *Side) LocalRTCPAddr() netip.AddrPort {
	return s.rtcp.local
}

// Port is the local RTP port (even); RTCP uses Port()+1.
func (s *Side) Port() int { return s.port }

// SetRemote records what this side's SDP (offer or answer) says. Call it for
// every SDP the far end sends, including re-INVITEs and UPDATEs, with
// Remote.Signalling set to the source IP of the SIP message that carried it.
// Each call starts a new learning window (see Latching); when the RTP or
// RTCP address changed (or on the first call) the side also forgets its
// latched sources. A change of direction alone (hold, resume) or an old-style
// hold (c=0.0.0.0) keeps them until the window picks.
func (s *Side) SetRemote(r Remote) {
	r.RTP = unmap(r.RTP)
	r.RTCP = unmap(r.RTCP)
	s.mu.Lock()
	held := r.RTP.IsValid() && r.RTP.Addr().IsUnspecified()
	moved := !s.remoteSet || (!held && (r.RTP != s.remote.RTP || r.rtcp() != s.remote.rtcp()))
	s.remote = r
	s.remoteSet = true
	s.rtpL.reset(moved)
	s.rtcpL.reset(moved)
	s.ssrcSet = false
	s.updateDst()
	s.mu.Unlock()
	if s.sess != nil {
		s.sess.touch() // a resume is not timed out for the hold's silence
	}
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
	st.Source = s.rtpL.src
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
	case s.rtpL.src.IsValid():
		d.rtp = s.rtpL.src
		switch {
		case s.rtcpL.src.IsValid():
			d.rtcp = s.rtcpL.src
		case s.rtpL.src != s.remote.RTP && s.rtpL.src.Port() < 65535:
			// behind NAT: the SDP's RTCP port says nothing; the usual
			// mapping keeps RTCP next to RTP
			d.rtcp = netip.AddrPortFrom(s.rtpL.src.Addr(), s.rtpL.src.Port()+1)
		default:
			d.rtcp = s.remote.rtcp()
		}
	default:
		d.rtp, d.rtcp = s.remote.RTP, s.remote.rtcp()
		if s.rtcpL.src.IsValid() {
			d.rtcp = s.rtcpL.src
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

// allowed reports whether media from ip may latch at all: the SDP's IP, the
// signalling IP (LatchSignalling), or the IP already latched (kept through
// an old-style hold). Called with s.mu held.
func (s *Side) allowed(ip netip.Addr) bool {
	if !s.remoteSet {
		return false // no SDP yet (the callee before its answer): nobody
	}
	return s.remote.allows(ip, s.sess.relay.cfg.Latching) ||
		(s.rtpL.src.IsValid() && s.rtpL.src.Addr() == ip)
}

// acceptRTP applies the latching rules (see Latching) to an RTP packet from
// src with the given SSRC. Called with s.mu held.
func (s *Side) acceptRTP(src netip.AddrPort, ssrc uint32, now int64) verdict {
	cfg := &s.sess.relay.cfg
	if cfg.Latching == LatchOff {
		switch {
		case s.remoteSet && src == s.remote.RTP:
			return accepted
		case s.remoteSet && src.Addr() == s.remote.RTP.Addr():
			return ignored
		}
		return stranger
	}
	if src == s.rtpL.src && !s.rtpL.learning {
		// the steady state: the latched source, its window closed (its SSRC
		// was learnt when the window closed, below)
		if ssrc != s.ssrc {
			if !cfg.AllowSSRCChange {
				return ignored
			}
			s.ssrc = ssrc
		}
		return accepted
	}
	if !s.allowed(src.Addr()) {
		return stranger
	}
	v := s.rtpL.learn(src, s.remote.RTP, now, int64(cfg.LearnWindow))
	switch {
	case v == ignored:
		return v
	case v == latched || !s.ssrcSet || s.rtpL.open(now) || cfg.AllowSSRCChange:
		// the stream's SSRC is learnt with its source (RFC 3550 §8.2: a
		// new SSRC is a new stream, so only a new SDP brings one)
		s.ssrc, s.ssrcSet = ssrc, true
	case ssrc != s.ssrc:
		return ignored
	}
	if v == latched {
		s.updateDst()
	}
	return v
}

// acceptRTCP is acceptRTP for RTCP, which latches on its own, the same way,
// in its own window (RTCP starts seconds after RTP, RFC 3550 §6.2). RTCP
// multiplexed on the RTP port (RFC 5761) comes from the latched RTP source.
func (s *Side) acceptRTCP(src netip.AddrPort, now int64) verdict {
	cfg := &s.sess.relay.cfg
	if cfg.Latching == LatchOff {
		switch {
		case s.remoteSet && (src == s.remote.rtcp() || src == s.remote.RTP):
			return accepted
		case s.remoteSet && (src.Addr() == s.remote.RTP.Addr() || src.Addr() == s.remote.rtcp().Addr()):
			return ignored
		}
		return stranger
	}
	if !s.allowed(src.Addr()) {
		return stranger
	}
	if src == s.rtpL.src {
		return accepted
	}
	v := s.rtcpL.learn(src, s.remote.rtcp(), now, int64(cfg.LearnWindow))
	if v == latched {
		s.updateDst()
	}
	return v
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
	ssrc := binary.BigEndian.Uint32(b[8:12])
	s.mu.Lock()
	if v := s.acceptRTP(src, ssrc, now); v >= ignored {
		s.refuse(v, src, false, now)
		return netip.AddrPort{}, false
	}
	s.st.Packets++
	s.st.Bytes += uint64(len(b))
	s.last = now
	pt := b[1] & 0x7f
	rate := int64(s.remote.clockRate())
	arrival := now/int64(time.Second)*rate + now%int64(time.Second)*rate/int64(time.Second)
	ev := s.remote.EventPayloadType
	s.rx.add(ssrc, binary.BigEndian.Uint16(b[2:4]),
		binary.BigEndian.Uint32(b[4:8]), pt, arrival, ev != 0 && pt == ev)
	p := s.peer.dst.Load()
	fwd := s.remote.canSend() && p.recv && p.rtp.IsValid() && s.out.forward(b, now) // injected events (inject.go)
	if fwd {
		s.st.Forwarded++
		s.st.ForwardedBytes += uint64(len(b))
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
	now := monotonic()
	s.mu.Lock()
	if v := s.acceptRTCP(src, now); v >= ignored {
		s.refuse(v, src, true, now)
		return netip.AddrPort{}, false
	}
	s.st.RTCPPackets++
	s.st.RTCPBytes += uint64(len(b))
	s.mu.Unlock()
	p := s.peer.dst.Load()
	return p.rtcp, p.rtcp.IsValid()
}

// refuse counts a packet the latching rules refused, unlocks s.mu, and
// reports a stranger to the Relay (counters and rate-limited log).
func (s *Side) refuse(v verdict, src netip.AddrPort, rtcp bool, now int64) {
	s.st.Ignored++
	if v == stranger {
		s.st.Strangers++
	}
	s.mu.Unlock()
	s.sess.relay.refused(v, s, src, rtcp, now)
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
