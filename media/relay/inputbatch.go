package relay

// Batched input from in-process far ends. A WebRTC leg's packets towards
// the phone each leave the relay socket of their own call, so sendmmsg(2)
// cannot batch them; what the SRTP fast path decrypted in one read batch
// can still go out in one system call (io_uring, media/udpbatch): the
// reader puts each packet in with Side.InputBatch and calls
// InputBatch.Flush when its batch is over.

// InputBatch holds the packets that Side.InputBatch relayed towards
// sockets until Flush sends them. A session with a packet held is not
// closed under it: Session.Close waits for the Flush (the held packet
// keeps the reference a sending worker would), so the owner must flush
// promptly, at the end of every batch it reads, and Close it when done.
// Safe for concurrent use (one reader is the expected user; the lock is
// then uncontended).
func NewInputBatch() *InputBatch { return newInputBatch() }

// InputBatch is Side.Input for a packet that may be sent later, at b's
// next Flush: latching, directions and counters apply at once, as with
// Input; b nil is Input. It reports whether the packet was sent on or
// held to be.
func (s *Side) InputBatch(pkt []byte, b *InputBatch) bool {
	return s.inputTo(pkt, b)
}
