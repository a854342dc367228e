package relay

// In-process far ends (the relay hook for media/webrtc). A side's far end
// may be code in this process, a browser's WebRTC leg, instead of a phone
// on the network: what the relay would send to it is handed to a function,
// and what it sends enters the side with Input. This saves the loopback hop
// (a sendto, the kernel's receive path, a recvfrom, each way) that a local
// socket between the leg and the relay costs.

// SetEndpoint makes fn the far end of s: RTP for it is handed to fn on the
// relay's packet path instead of being sent out of s's socket. fn runs on
// the relay's I/O goroutine: it must not block, and must not keep pkt
// after it returns (it may change it in place). RTCP for it is dropped (the
// leg has its own). nil restores the socket.
func (s *Side) SetEndpoint(fn func(pkt []byte)) {
	if fn == nil {
		s.inproc.Store(nil)
		return
	}
	s.inproc.Store(&inprocEnd{fn: func(pkt []byte, _ int) { fn(pkt) }})
}

// endpoint returns the in-process far end, nil for a socket.
func (s *Side) endpoint() *inprocEnd { return s.inproc.Load() }

// Input takes an RTP packet from s's in-process far end as if it had come
// to s's RTP socket from the address of s's SDP: latching, directions and
// counters apply, and it goes out of the other side's socket (or to its
// endpoint). It reports whether the packet was sent on. Safe to call
// concurrently with everything, Session.Close included.
func (s *Side) Input(pkt []byte) bool {
	return s.inputTo(pkt, nil)
}

// inputTo is Input, the packet sent at once (b nil) or held in b for its
// Flush (InputBatch).
func (s *Side) inputTo(pkt []byte, b *InputBatch) bool {
	s.mu.Lock()
	src := s.remote.RTP
	s.mu.Unlock()
	out, to, ok := s.input(pkt, src, false)
	if !ok {
		return false
	}
	if ep := out.side.endpoint(); ep != nil {
		if !out.isRTCP {
			ep.fn(pkt, NoBatch)
		}
		return !out.isRTCP
	}
	if b != nil {
		return b.add(s.sess, out, pkt, to)
	}
	return s.sess.relay.sendFrom(s.sess, out, pkt, to)
}

// deliver hands pkt, which the relay would send out of k to its far end,
// to k's side's endpoint if it has one. It reports whether it did (the
// packet must then not be sent).
func deliver(k *sock, pkt []byte) bool {
	ep := k.side.endpoint()
	if ep == nil {
		return false
	}
	if !k.isRTCP {
		ep.fn(pkt, NoBatch)
	}
	return true
}
