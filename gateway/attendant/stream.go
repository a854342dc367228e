package attendant

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"time"
)

// Message is one frame of the event stream (GET /api/v1/events). Every
// message but the snapshot has a seq one above the previous message the
// model published; a snapshot carries the seq it reflects.
type Message struct {
	Seq uint64 `json:"seq"`
	// Type is device (a device changed), snapshot (every device the
	// client may see), link_down / link_up (a source's link), parked,
	// unparked, recall (park or safe-transfer recall).
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	// Source is the source the message is about.
	Source string `json:"source,omitempty"`
	// Device is the device's new state (type device).
	Device *Device `json:"device,omitempty"`
	// Event is the CTI event behind a device message (delivered,
	// established, snapshot, …), Cause its cause, CallID its call.
	Event  string `json:"event,omitempty"`
	Cause  string `json:"cause,omitempty"`
	CallID string `json:"call_id,omitempty"`
	// PBXTime is when the PBX says the event happened, when it says.
	PBXTime time.Time `json:"pbx_time,omitzero"`
	// Scope of a link message: "pbx" (the driver's PBX link) or
	// "process" (the driver process itself).
	Scope string `json:"scope,omitempty"`
	// Devices is the snapshot's devices.
	Devices []Device `json:"devices,omitempty"`
	// Parked is the parked call of parked, unparked and recall messages.
	Parked *Parked `json:"parked,omitempty"`
	// Queue is an operator queue's change (type queue, gateway/opqueue).
	Queue json.RawMessage `json:"queue,omitempty"`
	// Operator is an operator's new state (type operator).
	Operator *OperatorChange `json:"operator,omitempty"`
	Detail   string          `json:"detail,omitempty"`
}

// OperatorChange is an operator's state as a type operator message
// carries it: available, paused (with the reason) or offline (no live
// session), and the account that changed it.
type OperatorChange struct {
	Name   string    `json:"name"`
	State  string    `json:"state"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	Device string    `json:"device,omitempty"`
	By     string    `json:"by,omitempty"`
}

// entry is one published message, marshalled once for every client.
type entry struct {
	seq    uint64
	device string // the device it is about; "" = every client
	idx    int    // the device's device.idx (0: none)
	owner  string // for parked messages: the parking operator
	group  string // for queue messages: the queue's operator group
	data   []byte
}

// ErrSlowReader is why a client whose queue filled up was dropped.
var ErrSlowReader = errors.New("slow reader: event queue full; reconnect with since=<last seq>")

// Filter selects what one client gets.
type Filter struct {
	// Devices, when not nil, are the only devices whose messages the
	// client gets (messages about no device reach everyone).
	Devices map[string]bool
	// Account and AllParked select parked messages: those of the
	// account's own parks, or every park when AllParked.
	Account   string
	AllParked bool
	// Groups and AllGroups select queue messages: those of the queues of
	// the operator's groups, or every queue's when AllGroups
	// (supervisors and admins).
	Groups    []string
	AllGroups bool
}

func (f *Filter) wants(e *entry) bool {
	if e.device != "" && f.Devices != nil && !f.Devices[e.device] {
		return false
	}
	if e.owner != "" && !f.AllParked && e.owner != f.Account {
		return false
	}
	if e.group != "" && !f.AllGroups && !slices.Contains(f.Groups, e.group) {
		return false
	}
	return true
}

// Subscription is one client's stream: C carries marshalled messages in
// seq order; Done is closed when the model drops the client (Err says
// why) or the client is cancelled.
type Subscription struct {
	C    <-chan []byte
	Done <-chan struct{}

	c      chan []byte
	done   chan struct{}
	err    error
	filter Filter
	// devBits has bit device.idx set for each device of filter.Devices
	// the model knew at Subscribe: one bit test per message instead of a
	// map lookup (200 consoles x 1,000 lamps: the fan-out's hot path).
	// Devices added later are looked up in filter.Devices.
	devBits []uint64
	bitsTo  int // the highest device.idx devBits covers
	m       *Model
}

func (s *Subscription) wants(e *entry) bool {
	if e.device != "" && s.filter.Devices != nil && e.idx > 0 && e.idx <= s.bitsTo {
		if s.devBits[e.idx/64]&(1<<(e.idx%64)) == 0 {
			return false
		}
		f := s.filter
		f.Devices = nil // the bit said yes
		return f.wants(e)
	}
	return s.filter.wants(e)
}

// Err is why the subscription ended (nil while it runs).
func (s *Subscription) Err() error {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.err
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.m.dropLocked(s, errors.New("closed"))
}

// Subscribe opens a client's stream. With since > 0 and every message
// after since still in the ring, the backlog (those the filter selects)
// comes first; otherwise (no since, since too old or from before a
// restart) a snapshot message of the devices the filter selects does.
// It reports which.
//
// A snapshot of 1,000 devices takes milliseconds to encode: it is
// encoded outside the model's lock (events keep flowing meanwhile), and
// the messages published while it was encoded follow it from the ring.
func (m *Model) Subscribe(since uint64, hasSince bool, f Filter) (sub *Subscription, snapshot bool) {
	m.mu.Lock()
	s := &Subscription{c: make(chan []byte, m.opts.ClientQueue), done: make(chan struct{}), filter: f, m: m}
	s.C, s.Done = s.c, s.done
	if f.Devices != nil {
		s.devBits, s.bitsTo = make([]uint64, m.nDevices/64+1), m.nDevices
		for id := range f.Devices {
			if d := m.devices[id]; d != nil {
				s.devBits[d.idx/64] |= 1 << (d.idx % 64)
			}
		}
	}
	if hasSince {
		if backlog, ok := m.backlogLocked(s, since); ok {
			m.startLocked(s, backlog)
			m.mu.Unlock()
			return s, false
		}
	}
	msg := m.snapshotMsgLocked(&f)
	m.mu.Unlock()

	body, _ := json.Marshal(msg)
	m.mu.Lock()
	defer m.mu.Unlock()
	backlog, ok := m.backlogLocked(s, msg.Seq)
	if !ok { // the ring moved on past msg.Seq meanwhile: encode under the lock
		body, _ = json.Marshal(m.snapshotMsgLocked(&f))
		backlog = nil
	}
	m.startLocked(s, append([][]byte{body}, backlog...))
	return s, true
}

// backlogLocked is what s gets of the messages after since: false when
// since is not in the ring (too old, or from the future: a restart) or
// the backlog alone would overflow s's queue. m.mu is held.
func (m *Model) backlogLocked(s *Subscription, since uint64) ([][]byte, bool) {
	oldest := m.seq + 1 // the oldest seq the ring holds
	if len(m.ring) > 0 {
		oldest = m.ring[m.head].seq
	}
	if since > m.seq || since+1 < oldest {
		return nil, false
	}
	var backlog [][]byte
	for i := range len(m.ring) {
		e := &m.ring[(m.head+i)%len(m.ring)]
		if e.seq > since && s.wants(e) {
			backlog = append(backlog, e.data)
		}
	}
	if len(backlog) >= cap(s.c) {
		return nil, false
	}
	return backlog, true
}

// startLocked queues first for s and adds it to the clients. m.mu is
// held.
func (m *Model) startLocked(s *Subscription, first [][]byte) {
	for _, b := range first {
		s.c <- b
	}
	m.subs[s] = struct{}{}
}

// snapshotMsgLocked is a snapshot message of the devices f selects.
func (m *Model) snapshotMsgLocked(f *Filter) Message {
	msg := Message{Seq: m.seq, Type: "snapshot", Time: m.now(), Devices: []Device{}}
	for _, id := range m.order {
		if f.Devices == nil || f.Devices[id] {
			msg.Devices = append(msg.Devices, m.devices[id].view())
		}
	}
	return msg
}

// publishLocked appends msg to the ring and queues it for every client
// that wants it; a client whose queue is full is dropped, never waited
// for. m.mu is held.
func (m *Model) publishLocked(msg Message, device, owner string) {
	m.publishEntryLocked(msg, entry{device: device, owner: owner})
}

// publishEntryLocked publishes msg with e's audience (device, owner,
// group). m.mu is held.
func (m *Model) publishEntryLocked(msg Message, e entry) {
	m.seq++
	msg.Seq = m.seq
	if msg.Time.IsZero() {
		msg.Time = m.now()
	}
	body, err := json.Marshal(msg)
	if err != nil { // a Message always marshals
		panic(err)
	}
	e.seq, e.data = m.seq, body
	if d := m.devices[e.device]; d != nil {
		e.idx = d.idx
	}
	if len(m.ring) < m.opts.RingSize {
		m.ring = append(m.ring, e)
	} else {
		m.ring[m.head] = e
		m.head = (m.head + 1) % len(m.ring)
	}
	for s := range m.subs {
		if !s.wants(&e) {
			continue
		}
		select {
		case s.c <- body:
		default:
			m.dropped++
			m.dropLocked(s, ErrSlowReader)
		}
	}
}

// dropLocked ends s with err; m.mu is held.
func (m *Model) dropLocked(s *Subscription, err error) {
	if _, ok := m.subs[s]; !ok && s.err != nil {
		return
	}
	delete(m.subs, s)
	if s.err == nil {
		s.err = err
		close(s.done)
	}
}

// Seq is the seq of the last message published.
func (m *Model) Seq() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seq
}

// Clients is the number of open subscriptions.
func (m *Model) Clients() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.subs)
}

// Dropped counts clients dropped as slow readers.
func (m *Model) Dropped() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dropped
}

// ParseSince reads the since= query value.
func ParseSince(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, errors.New("since must be a non-negative integer (the seq of the last message seen)")
	}
	return n, nil
}
