package relay

// Batched in-process far ends. A WebRTC leg's packets towards its browser
// all leave one socket (the ICE socket every leg shares), so what a relay
// worker hands to such legs during one epoll batch can go out in one
// sendmmsg(2) instead of one sendto(2) each: the far end holds the packets
// back and the worker tells it when its batch is over.

// NoBatch is the batch number an in-process far end gets when nothing will
// flush what it holds back (Side.Input from another goroutine, the portable
// I/O engine): it must send the packet at once.
const NoBatch = -1

// Flusher sends what a batched far end held back (SetBatchEndpoint).
type Flusher interface {
	// Flush sends every packet held back for batch. The relay calls it on
	// the worker that handed them over, once that worker's ready sockets
	// are handled and before it polls again, so a packet waits at most
	// one epoll batch (at most len(events) packets).
	Flush(batch int)
}

// inprocEnd is an in-process far end (SetEndpoint, SetBatchEndpoint).
type inprocEnd struct {
	fn func(pkt []byte, batch int)
	fl Flusher // nil: fn sends at once
}

// SetBatchEndpoint is SetEndpoint for a far end that batches its sends:
// fn gets, with each packet, the number of the relay's I/O worker it runs
// on (0 ≤ batch < Config.Threads, the same number every time on that
// worker's goroutine) or NoBatch. What fn holds back for a batch it must
// copy (pkt is the worker's buffer) and send when fl.Flush(batch) is
// called. Far ends that share a Flusher (the legs of one ICE socket) are
// flushed once per batch. nil restores the socket.
func (s *Side) SetBatchEndpoint(fn func(pkt []byte, batch int), fl Flusher) {
	if fn == nil {
		s.inproc.Store(nil)
		return
	}
	s.inproc.Store(&inprocEnd{fn: fn, fl: fl})
}

// pending is a worker's list of far ends to flush at the end of its batch;
// it holds one Flusher per ICE socket, so a linear search is enough.
type pending struct {
	id  int
	fls []Flusher
}

// deliver hands pkt, which the relay would send out of k, to k's side's
// batched or plain in-process far end, noting its Flusher. It reports
// whether it did (the packet must then not be sent).
func (p *pending) deliver(k *sock, pkt []byte) bool {
	ep := k.side.endpoint()
	if ep == nil {
		return false
	}
	if k.isRTCP {
		return true // the leg has its own RTCP
	}
	if ep.fl == nil {
		ep.fn(pkt, NoBatch)
		return true
	}
	ep.fn(pkt, p.id)
	for _, f := range p.fls {
		if f == ep.fl {
			return true
		}
	}
	p.fls = append(p.fls, ep.fl)
	return true
}

// flush ends the worker's batch.
func (p *pending) flush() {
	for i, f := range p.fls {
		f.Flush(p.id)
		p.fls[i] = nil
	}
	p.fls = p.fls[:0]
}
