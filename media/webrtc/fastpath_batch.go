package webrtc

import "github.com/switchboard-gw/switchboard/media/udpbatch"

// RelayBatchCounters count what the fast path's readers sent towards the
// phones through their relay.InputBatch (one per ICE reader;
// media/udpbatch): datagrams, and the system calls they took (one io_uring_enter per read batch where the
// kernel allows io_uring). Zero with SlowPath, and for legs not attached
// to a relay side.
func (e *Engine) RelayBatchCounters() udpbatch.Counters {
	var sum udpbatch.Counters
	for _, b := range e.in {
		c := b.Counters()
		sum.Sent += c.Sent
		sum.Failed += c.Failed
		sum.Flushes += c.Flushes
		sum.Syscalls += c.Syscalls
	}
	return sum
}
