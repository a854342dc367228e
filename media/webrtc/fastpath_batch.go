package webrtc

import "github.com/switchboard-gw/switchboard/media/udpbatch"

// RelayBatchCounters count what the fast path's reader sent towards the
// phones through its relay.InputBatch (media/udpbatch): datagrams, and the
// system calls they took (one io_uring_enter per read batch where the
// kernel allows io_uring). Zero with SlowPath, and for legs not attached
// to a relay side.
func (e *Engine) RelayBatchCounters() udpbatch.Counters {
	if e.in == nil {
		return udpbatch.Counters{}
	}
	return e.in.Counters()
}
