// Package ladder keeps the SIP messages of the last calls in memory, per
// call, for "why did this call fail" without tcpdump: the admin API shows
// them as a ladder diagram (parties as columns) and exports them as PCAP.
//
// Messages arrive from gateway/capture grouped by Call-ID. A Call-ID
// becomes part of a call only when the B2BUA links it (Link): the
// caller's Call-ID when it takes the call on, each B leg's when it sends
// the INVITE. Until then its messages wait in a small bucket of their own,
// so a flood of junk Call-IDs (scanners, unauthenticated INVITEs) evicts
// only other junk, never a call. Both are bounded by count and bytes; the
// oldest call goes first.
package ladder

import (
	"container/list"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/capture"
)

// msgOverhead is what a kept message costs besides its bytes (the
// Message, its strings, the slices that hold it), for the byte bound.
const msgOverhead = 256

// Options bound a Store. Zero values take the defaults.
type Options struct {
	// Calls is the most calls kept. Default: 200.
	Calls int
	// Bytes is the most message bytes kept over all calls. Default:
	// 32 MiB.
	Bytes int64
	// PerCall is the most messages kept per call: the first half and the
	// latest half; those in between are counted as omitted. Default: 400.
	PerCall int
	// JunkCallIDs and JunkBytes bound the bucket of Call-IDs no call
	// claimed (yet). Default: 64 and 1 MiB.
	JunkCallIDs int
	JunkBytes   int64
}

func (o Options) withDefaults() Options {
	if o.Calls <= 0 {
		o.Calls = 200
	}
	if o.Bytes <= 0 {
		o.Bytes = 32 << 20
	}
	if o.PerCall <= 1 {
		o.PerCall = 400
	}
	if o.JunkCallIDs <= 0 {
		o.JunkCallIDs = 64
	}
	if o.JunkBytes <= 0 {
		o.JunkBytes = 1 << 20
	}
	return o
}

// Store keeps the ladders of the last calls. It is a capture.Sink.
type Store struct {
	o Options

	mu       sync.Mutex
	calls    map[string]*call // by id (the caller's Call-ID)
	byCallID map[string]*call // every linked Call-ID
	order    *list.List       // of *call, oldest first
	bytes    int64

	junk      map[string]*junk
	junkOrder *list.List // of *junk, oldest first
	junkBytes int64

	evicted, junkEvicted, omitted atomic.Uint64
}

// New makes an empty Store.
func New(o Options) *Store {
	return &Store{o: o.withDefaults(), calls: map[string]*call{}, byCallID: map[string]*call{}, order: list.New(),
		junk: map[string]*junk{}, junkOrder: list.New()}
}

type call struct {
	Summary
	msgs  []*capture.Message
	bytes int64
	elem  *list.Element
	// inviteCSeq is the CSeq of the caller's latest INVITE outside a
	// dialog: the final response to it is the call's status.
	inviteCSeq uint32
}

type junk struct {
	callID string
	msgs   []*capture.Message
	bytes  int64
	elem   *list.Element
}

// Summary is what the list of calls shows of one.
type Summary struct {
	// ID is the caller's Call-ID.
	ID string `json:"id"`
	// CallIDs are the Call-IDs of every leg, the caller's first.
	CallIDs []string `json:"call_ids"`
	// From and To are the caller's INVITE's headers.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Start is the first message's time, Last the latest's.
	Start time.Time `json:"start"`
	Last  time.Time `json:"last"`
	// Status and Reason are the final response to the caller's INVITE;
	// 0 while the call is being set up.
	Status int    `json:"status,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Messages counts the messages kept, Omitted those dropped from the
	// middle of a long call (Options.PerCall).
	Messages int `json:"message_count"`
	Omitted  int `json:"omitted,omitempty"`
}

// Ladder is one call's messages in order, with its summary.
type Ladder struct {
	Summary
	Messages []*capture.Message
}

// Stats are the Store's counters.
type Stats struct {
	Calls, JunkCallIDs            int
	Bytes, JunkBytes              int64
	Evicted, JunkEvicted, Omitted uint64
}

func size(m *capture.Message) int64 { return int64(len(m.Data)) + msgOverhead }

// Capture implements capture.Sink.
func (s *Store) Capture(m *capture.Message) {
	if m.CallID == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.byCallID[m.CallID]; c != nil {
		s.add(c, m)
		s.evict(c)
		return
	}
	j := s.junk[m.CallID]
	if j == nil {
		if !mayStartCall(m) {
			return // REGISTER, OPTIONS, SUBSCRIBE...: never part of a call's ladder
		}
		j = &junk{callID: m.CallID}
		j.elem = s.junkOrder.PushBack(j)
		s.junk[m.CallID] = j
	}
	if len(j.msgs) >= s.o.PerCall {
		return // a Call-ID nobody claimed does not grow without bound
	}
	j.msgs = append(j.msgs, m)
	j.bytes += size(m)
	s.junkBytes += size(m)
	for len(s.junk) > s.o.JunkCallIDs || s.junkBytes > s.o.JunkBytes {
		oldest := s.junkOrder.Front().Value.(*junk)
		s.dropJunk(oldest)
		s.junkEvicted.Add(1)
		if oldest == j {
			break
		}
	}
}

// mayStartCall reports whether m may be a message of a call before the
// B2BUA takes it on: the INVITE transaction (its responses, the ACK of a
// failure, a CANCEL). Other Call-IDs never become calls; keeping them out
// of the bucket keeps a stream of REGISTERs from churning it.
func mayStartCall(m *capture.Message) bool {
	switch m.CSeqMethod {
	case "INVITE", "ACK", "CANCEL":
		return true
	}
	return false
}

func (s *Store) dropJunk(j *junk) {
	s.junkOrder.Remove(j.elem)
	delete(s.junk, j.callID)
	s.junkBytes -= j.bytes
}

// Link makes callID one of the legs of the call whose caller's Call-ID is
// id (id itself for the caller's leg): its messages so far, and those to
// come, belong to that call's ladder.
func (s *Store) Link(id, callID string) {
	if id == "" || callID == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls[id]
	if c == nil {
		c = &call{Summary: Summary{ID: id, CallIDs: []string{id}}}
		c.elem = s.order.PushBack(c)
		s.calls[id] = c
		s.byCallID[id] = c
		s.claim(c, id)
	}
	if o := s.byCallID[callID]; o != nil {
		return // linked already (to this call or, for a Call-ID reused, another)
	}
	s.byCallID[callID] = c
	c.CallIDs = append(c.CallIDs, callID)
	s.claim(c, callID)
	s.evict(c)
}

// claim moves the junk bucket's messages of callID into c, in time order.
func (s *Store) claim(c *call, callID string) {
	j := s.junk[callID]
	if j == nil {
		return
	}
	s.dropJunk(j)
	for _, m := range j.msgs {
		s.add(c, m)
	}
	slices.SortStableFunc(c.msgs, func(a, b *capture.Message) int { return a.Time.Compare(b.Time) })
}

// add appends m to c and follows its summary.
func (s *Store) add(c *call, m *capture.Message) {
	if len(c.msgs) >= s.o.PerCall {
		// Keep the first half (the setup) and the latest (the end).
		half := s.o.PerCall / 2
		gone := c.msgs[half]
		copy(c.msgs[half:], c.msgs[half+1:])
		c.msgs = c.msgs[:len(c.msgs)-1]
		c.bytes -= size(gone)
		s.bytes -= size(gone)
		c.Omitted++
		s.omitted.Add(1)
	}
	if i := causedBefore(c.msgs, m); i >= 0 {
		// m was captured after the write returned (sipgo's write hook,
		// on streams), and its answer came in first: it goes before its
		// answer, at the answer's time.
		cp := *m
		cp.Time = c.msgs[i].Time
		m = &cp
		c.msgs = slices.Insert(c.msgs, i, m)
	} else {
		c.msgs = append(c.msgs, m)
	}
	c.bytes += size(m)
	s.bytes += size(m)
	if c.Start.IsZero() || m.Time.Before(c.Start) {
		c.Start = m.Time
	}
	if m.Time.After(c.Last) {
		c.Last = m.Time
	}
	if m.CallID != c.ID {
		return
	}
	switch {
	case m.Method == "INVITE" && !m.ToTag:
		// RFC 3261 §13.2.1: a new attempt (after a 407, with the next
		// CSeq) restarts the setup.
		if c.From == "" {
			c.From, c.To = m.From, m.To
		}
		if m.CSeq != c.inviteCSeq {
			c.inviteCSeq, c.Status, c.Reason = m.CSeq, 0, ""
		}
	case m.Status >= 200 && m.CSeqMethod == "INVITE" && m.CSeq == c.inviteCSeq && c.Status == 0:
		c.Status, c.Reason = m.Status, m.Reason
	}
}

// causalWindow is how far back causedBefore looks.
const causalWindow = 16

// causedBefore returns the index of the earliest of the latest messages
// that an outgoing m caused but that was captured before it: a response to
// our request m, or the ACK of our final response m to an INVITE (RFC 3261
// §17.1.1.3). -1 when there is none.
func causedBefore(msgs []*capture.Message, m *capture.Message) int {
	if m.Dir != capture.Out {
		return -1
	}
	at := -1
	for i := len(msgs) - 1; i >= 0 && i >= len(msgs)-causalWindow; i-- {
		x := msgs[i]
		if x.Dir != capture.In || x.CallID != m.CallID || x.CSeq != m.CSeq {
			continue
		}
		switch {
		case m.IsRequest() && !x.IsRequest() && x.CSeqMethod == m.Method,
			!m.IsRequest() && m.Status >= 200 && m.CSeqMethod == "INVITE" && x.Method == "ACK":
			at = i
		}
	}
	return at
}

// evict drops the oldest calls while the store is over its bounds; keep
// is never dropped (one call over the byte bound sheds its own middle).
func (s *Store) evict(keep *call) {
	for len(s.calls) > s.o.Calls || s.bytes > s.o.Bytes {
		e := s.order.Front()
		if e == nil {
			return
		}
		c := e.Value.(*call)
		if c == keep {
			if e.Next() == nil {
				s.shed(c)
				return
			}
			c = e.Next().Value.(*call)
		}
		s.order.Remove(c.elem)
		delete(s.calls, c.ID)
		for _, id := range c.CallIDs {
			if s.byCallID[id] == c {
				delete(s.byCallID, id)
			}
		}
		s.bytes -= c.bytes
		s.evicted.Add(1)
	}
}

// shed drops messages from the middle of c, the only call left, until the
// byte bound holds.
func (s *Store) shed(c *call) {
	half := len(c.msgs) / 2
	for s.bytes > s.o.Bytes && len(c.msgs) > 1 && half < len(c.msgs) {
		gone := c.msgs[half]
		c.msgs = slices.Delete(c.msgs, half, half+1)
		c.bytes -= size(gone)
		s.bytes -= size(gone)
		c.Omitted++
		s.omitted.Add(1)
		half = len(c.msgs) / 2
	}
}

// List returns the summaries of the calls kept, newest first.
func (s *Store) List() []Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Summary, 0, len(s.calls))
	for e := s.order.Back(); e != nil; e = e.Prev() {
		out = append(out, e.Value.(*call).summary())
	}
	return out
}

func (c *call) summary() Summary {
	sm := c.Summary
	sm.CallIDs = slices.Clone(c.CallIDs)
	sm.Messages = len(c.msgs)
	return sm
}

// Get returns the ladder of the call with caller's Call-ID id, or of the
// call that id is a leg of.
func (s *Store) Get(id string) (Ladder, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls[id]
	if c == nil {
		c = s.byCallID[id]
	}
	if c == nil {
		return Ladder{}, false
	}
	return Ladder{Summary: c.summary(), Messages: slices.Clone(c.msgs)}, true
}

// Stats returns the counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Calls: len(s.calls), JunkCallIDs: len(s.junk), Bytes: s.bytes, JunkBytes: s.junkBytes,
		Evicted: s.evicted.Load(), JunkEvicted: s.junkEvicted.Load(), Omitted: s.omitted.Load()}
}
