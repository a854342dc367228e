package attendant

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

func newModel(t *testing.T, o Options, srcs ...Source) *Model {
	t.Helper()
	m := New(o)
	for _, s := range srcs {
		m.AddSource(s)
	}
	t.Cleanup(m.Close)
	return m
}

func snapEv(src, dev string, calls ...plugins.CallSnapshot) plugins.Event {
	return plugins.Event{Driver: src, Incarnation: 1, Device: dev, Type: plugins.EventSnapshot,
		Snapshot: &plugins.DeviceSnapshot{Device: dev, Calls: calls}}
}

// TestLineState: the lamp of a device follows its connection's events
// (ECMA-269 local connection states) the way a console shows it.
func TestLineState(t *testing.T) {
	f := newFake("pbx1", "201", "202")
	m := newModel(t, Options{}, f)
	if d, _ := m.Device("pbx1:201"); d.Line != LineUnknown || d.Presence != PresenceUnknown {
		t.Fatalf("before any snapshot: %+v", d)
	}
	m.Apply(snapEv("pbx1", "201"))
	m.Apply(snapEv("pbx1", "202"))
	steps := []struct {
		ev         plugins.Event
		l201, l202 LineState
	}{
		{ev("pbx1", "201", 1, plugins.EventServiceInitiated, "c1", plugins.StateInitiated), LineBusy, LineIdle},
		{ev("pbx1", "201", 2, plugins.EventDelivered, "c1", plugins.StateConnected), LineBusy, LineIdle},
		{ev("pbx1", "202", 3, plugins.EventDelivered, "c1", plugins.StateAlerting), LineBusy, LineRinging},
		{ev("pbx1", "202", 4, plugins.EventEstablished, "c1", plugins.StateConnected), LineBusy, LineBusy},
		{ev("pbx1", "201", 5, plugins.EventHeld, "c1", plugins.StateHold), LineHeld, LineBusy},
		{ev("pbx1", "201", 6, plugins.EventRetrieved, "c1", plugins.StateConnected), LineBusy, LineBusy},
		{ev("pbx1", "202", 7, plugins.EventConnectionCleared, "c1", plugins.StateNull), LineBusy, LineIdle},
		{ev("pbx1", "201", 8, plugins.EventConnectionCleared, "c1", plugins.StateNull), LineIdle, LineIdle},
	}
	for i, s := range steps {
		m.Apply(s.ev)
		a, _ := m.Device("pbx1:201")
		b, _ := m.Device("pbx1:202")
		if a.Line != s.l201 || b.Line != s.l202 {
			t.Fatalf("step %d (%s at %s): 201 %s 202 %s, want %s %s", i, s.ev.Type, s.ev.Device, a.Line, b.Line, s.l201, s.l202)
		}
		if i == 3 {
			calls := m.Calls()
			if len(calls) != 1 || calls[0].ID != "pbx1:c1" || len(calls[0].Parties) != 2 {
				t.Fatalf("calls while connected: %+v", calls)
			}
			if a.Presence != PresenceBusy {
				t.Fatalf("presence while in a call: %s", a.Presence)
			}
		}
	}
	if len(m.Calls()) != 0 {
		t.Fatalf("calls after clearing: %+v", m.Calls())
	}
}

// TestStreamSince: a client resuming with since= gets exactly what it
// missed; one whose since fell out of the ring gets a snapshot.
func TestStreamSince(t *testing.T) {
	f := newFake("pbx1", "201")
	m := newModel(t, Options{RingSize: 100}, f)
	for i := range 10 {
		m.Apply(ev("pbx1", "201", uint64(i+1), plugins.EventDoNotDisturb, "", 0))
	}
	sub, snap := m.Subscribe(5, true, Filter{})
	defer sub.Close()
	if snap {
		t.Fatal("since=5 with the ring holding 1..10: snapshot, want the backlog")
	}
	for want := uint64(6); want <= 10; want++ {
		if got := recv(t, sub); got.Seq != want || got.Type != "device" {
			t.Fatalf("backlog: seq %d type %s, want %d device", got.Seq, got.Type, want)
		}
	}
	m.Apply(ev("pbx1", "201", 11, plugins.EventDoNotDisturb, "", 0))
	if got := recv(t, sub); got.Seq != 11 {
		t.Fatalf("live after backlog: seq %d, want 11", got.Seq)
	}
	for i := range 200 {
		m.Apply(ev("pbx1", "201", uint64(12+i), plugins.EventDoNotDisturb, "", 0))
	}
	old, snap := m.Subscribe(5, true, Filter{})
	defer old.Close()
	first := recv(t, old)
	if !snap || first.Type != "snapshot" || first.Seq != m.Seq() || len(first.Devices) != 1 || first.Devices[0].ID != "pbx1:201" {
		t.Fatalf("since=5 after 200 more (ring 100): snapshot %v %+v", snap, first)
	}
	future, snap := m.Subscribe(m.Seq()+50, true, Filter{})
	defer future.Close()
	if !snap {
		t.Fatal("since beyond the last seq (a gateway restart): no snapshot")
	}
}

// TestSlowReaderDropped: a client that does not read is dropped when its
// queue fills, with ErrSlowReader, while another keeps every message.
func TestSlowReaderDropped(t *testing.T) {
	f := newFake("pbx1", "201")
	m := newModel(t, Options{ClientQueue: 16}, f)
	slow, _ := m.Subscribe(0, false, Filter{})
	fast, _ := m.Subscribe(0, false, Filter{})
	defer fast.Close()
	recv(t, fast) // snapshot
	got := make(chan []uint64, 1)
	go func() {
		var seqs []uint64
		for len(seqs) < 100 {
			seqs = append(seqs, recv(t, fast).Seq)
		}
		got <- seqs
	}()
	for i := range 100 {
		m.Apply(ev("pbx1", "201", uint64(i+1), plugins.EventDoNotDisturb, "", 0))
		time.Sleep(100 * time.Microsecond) // the fast reader reads as it goes
	}
	select {
	case <-slow.Done:
	case <-time.After(10 * time.Second):
		t.Fatal("slow reader not dropped")
	}
	if !errors.Is(slow.Err(), ErrSlowReader) {
		t.Fatalf("slow reader ended with %v", slow.Err())
	}
	seqs := <-got
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("fast reader got seq %d at %d: %v", s, i, seqs)
		}
	}
	if m.Dropped() != 1 || m.Clients() != 1 {
		t.Fatalf("dropped %d clients %d", m.Dropped(), m.Clients())
	}
}

// TestStreamFilter: ?devices= keeps the named devices' messages and the
// ones about no device (links).
func TestStreamFilter(t *testing.T) {
	f := newFake("pbx1", "201", "202")
	m := newModel(t, Options{}, f)
	sub, _ := m.Subscribe(0, false, Filter{Devices: map[string]bool{"pbx1:202": true}})
	defer sub.Close()
	if s := recv(t, sub); len(s.Devices) != 1 || s.Devices[0].ID != "pbx1:202" {
		t.Fatalf("filtered snapshot %+v", s.Devices)
	}
	m.Apply(ev("pbx1", "201", 1, plugins.EventDoNotDisturb, "", 0))
	m.Apply(ev("pbx1", "202", 2, plugins.EventDoNotDisturb, "", 0))
	m.Apply(plugins.Event{Driver: "pbx1", Incarnation: 1, Seq: 3, Type: plugins.EventLinkDown})
	if g := recv(t, sub); g.Device == nil || g.Device.ID != "pbx1:202" {
		t.Fatalf("first filtered message %+v", g)
	}
	if g := recv(t, sub); g.Type != "link_down" || g.Source != "pbx1" {
		t.Fatalf("link message %+v", g)
	}
}

// TestLinkDownStaleThenFresh: link down marks the source's devices
// stale and tells clients; link up makes the model take fresh snapshots,
// which clear stale and show what changed meanwhile.
func TestLinkDownStaleThenFresh(t *testing.T) {
	f := newFake("pbx1", "201")
	m := newModel(t, Options{}, f)
	m.Apply(snapEv("pbx1", "201"))
	sub, _ := m.Subscribe(m.Seq(), true, Filter{})
	defer sub.Close()
	m.Apply(plugins.Event{Driver: "pbx1", Incarnation: 1, Seq: 1, Type: plugins.EventLinkDown, RawCause: "tcp reset"})
	if g := recv(t, sub); g.Type != "link_down" || g.Scope != "pbx" {
		t.Fatalf("%+v", g)
	}
	if d, _ := m.Device("pbx1:201"); !d.Stale || d.Presence != PresenceOffline {
		t.Fatalf("after link down: %+v", d)
	}
	f.setSnap(plugins.DeviceSnapshot{Device: "201", Calls: []plugins.CallSnapshot{{CallID: "c7", State: plugins.StateConnected}}})
	m.Apply(plugins.Event{Driver: "pbx1", Incarnation: 1, Seq: 2, Type: plugins.EventLinkUp})
	if g := recv(t, sub); g.Type != "link_up" {
		t.Fatalf("%+v", g)
	}
	g := recvUntil(t, sub, func(m Message) bool { return m.Type == "device" && m.Event == "snapshot" })
	if g.Device.Stale || g.Device.Line != LineBusy || len(g.Device.Calls) != 1 || g.Device.Calls[0].CallID != "pbx1:c7" {
		t.Fatalf("after link up: %+v", g.Device)
	}
}

// TestEventGapResync: a hole in a source's seq marks its devices stale
// and makes the model take fresh snapshots.
func TestEventGapResync(t *testing.T) {
	f := newFake("pbx1", "201")
	m := newModel(t, Options{}, f)
	m.Apply(snapEv("pbx1", "201"))
	m.Apply(ev("pbx1", "201", 1, plugins.EventDoNotDisturb, "", 0))
	m.Apply(ev("pbx1", "201", 2, plugins.EventDoNotDisturb, "", 0))
	sub, _ := m.Subscribe(m.Seq(), true, Filter{})
	defer sub.Close()
	f.setSnap(plugins.DeviceSnapshot{Device: "201", DND: true})
	m.Apply(ev("pbx1", "201", 9, plugins.EventDoNotDisturb, "", 0)) // 3..8 lost
	g := recvUntil(t, sub, func(m Message) bool { return m.Type == "device" && m.Event == "snapshot" })
	if g.Device.Stale || !g.Device.DND {
		t.Fatalf("after the resync: %+v", g.Device)
	}
	f.mu.Lock()
	taken := f.taken
	f.mu.Unlock()
	if taken != 1 {
		t.Fatalf("snapshots taken %d, want 1", taken)
	}
}

func waitRecorded(t *testing.T, f *fakeSource, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Contains(f.recorded(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("source never got %q: %v", want, f.recorded())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestParkRecall: a call parked through the API is recalled (picked up
// from its slot) to the device it was parked from after park_recall; the
// operator sees their own parks, another only with "see all".
func TestParkRecall(t *testing.T) {
	f := newFake("pbx1", "201", "202")
	m := newModel(t, Options{ParkRecall: 50 * time.Millisecond}, f)
	m.Apply(snapEv("pbx1", "201", plugins.CallSnapshot{CallID: "c1", ConnectionID: "x1", State: plugins.StateConnected}))
	sub, _ := m.Subscribe(m.Seq(), true, Filter{Account: "alice"})
	defer sub.Close()
	other, _ := m.Subscribe(m.Seq(), true, Filter{Account: "bob"})
	defer other.Close()
	p, err := m.Park(context.Background(), "pbx1:c1", "pbx1:201", "", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if p.Slot != "pbx1:700" || p.Operator != "alice" {
		t.Fatalf("parked %+v", p)
	}
	if len(m.ParkedCalls("bob", false)) != 0 || len(m.ParkedCalls("bob", true)) != 1 || len(m.ParkedCalls("alice", false)) != 1 {
		t.Fatal("park visibility")
	}
	if g := recv(t, sub); g.Type != "parked" {
		t.Fatalf("%+v", g)
	}
	waitRecorded(t, f, "pickup 201 700")
	recvUntil(t, sub, func(m Message) bool { return m.Type == "recall" })
	if len(m.ParkedCalls("alice", true)) != 0 {
		t.Fatal("still parked after the recall")
	}
	m.Apply(ev("pbx1", "201", 1, plugins.EventDoNotDisturb, "", 0))
	if g := recv(t, other); g.Type != "device" {
		t.Fatalf("bob saw alice's park: %+v", g)
	}
}

// TestSafeTransfer: a blind transfer through the API that rings
// unanswered comes back to the operator (deflected to it, or picked up
// by it where the source cannot deflect); a busy target at once; an
// answered one stays.
func TestSafeTransfer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		noDefl bool
		then   func(m *Model)
		want   string // recorded by the source; "" = no recall
	}{
		{"no answer", false, nil, "deflect 202 c1 201"},
		{"no answer, no deflect", true, nil, "pickup 201 202"},
		{"busy", false, func(m *Model) {
			e := ev("pbx1", "201", 3, plugins.EventFailed, "c1", plugins.StateFail)
			e.Cause = plugins.CauseBusy
			m.Apply(e)
		}, "deflect 202 c1 201"},
		{"answered", false, func(m *Model) {
			m.Apply(ev("pbx1", "202", 3, plugins.EventEstablished, "c1", plugins.StateConnected))
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake("pbx1", "201", "202")
			f.noDefl = tc.noDefl
			wait := 100 * time.Millisecond
			if tc.name == "busy" {
				wait = time.Hour // busy recalls without waiting
			}
			m := newModel(t, Options{SafeTransfer: wait}, f)
			m.Apply(snapEv("pbx1", "201", plugins.CallSnapshot{CallID: "c1", State: plugins.StateConnected}))
			m.Apply(snapEv("pbx1", "202"))
			id, err := m.BlindTransfer(context.Background(), "pbx1:c1", "pbx1:201", "202", "alice")
			if err != nil || id != "pbx1:c1" {
				t.Fatalf("transfer %q %v", id, err)
			}
			m.Apply(ev("pbx1", "202", 2, plugins.EventDelivered, "c1", plugins.StateAlerting))
			if tc.then != nil {
				tc.then(m)
			}
			if tc.want != "" {
				waitRecorded(t, f, tc.want)
				return
			}
			time.Sleep(5 * wait)
			for _, r := range f.recorded() {
				if strings.HasPrefix(r, "deflect") || strings.HasPrefix(r, "pickup") {
					t.Fatalf("answered transfer recalled: %v", f.recorded())
				}
			}
			if len(m.PendingTransfers()) != 0 {
				t.Fatalf("pending %v", m.PendingTransfers())
			}
		})
	}
}

// TestCloseEndsSubscriptions: closing the model ends every client.
func TestCloseEndsSubscriptions(t *testing.T) {
	m := New(Options{})
	sub, _ := m.Subscribe(0, false, Filter{})
	m.Close()
	select {
	case <-sub.Done:
	case <-time.After(5 * time.Second):
		t.Fatal("subscription open after Close")
	}
}

// TestSnapshotOrdering: events the driver numbered at or below a
// snapshot's Seq are already in it and are skipped; a snapshot older
// than events already applied is not applied but taken again.
func TestSnapshotOrdering(t *testing.T) {
	f := newFake("pbx1", "201", "202")
	m := newModel(t, Options{}, f)
	snap := snapEv("pbx1", "201", plugins.CallSnapshot{CallID: "c1", State: plugins.StateConnected})
	snap.Snapshot.Seq = 10
	m.Apply(snap)
	m.Apply(ev("pbx1", "201", 9, plugins.EventConnectionCleared, "c1", plugins.StateNull)) // before the snapshot
	if d, _ := m.Device("pbx1:201"); d.Line != LineBusy {
		t.Fatalf("an event older than the snapshot was applied: %+v", d)
	}
	m.Apply(ev("pbx1", "202", 10, plugins.EventDoNotDisturb, "", 0)) // no gap in the source's seq
	m.Apply(ev("pbx1", "201", 11, plugins.EventHeld, "c1", plugins.StateHold))
	if d, _ := m.Device("pbx1:201"); d.Line != LineHeld {
		t.Fatalf("a newer event was not applied: %+v", d)
	}
	f.setSnap(plugins.DeviceSnapshot{Device: "201", Seq: 20, Calls: []plugins.CallSnapshot{{CallID: "c1", State: plugins.StateConnected}}})
	sub, _ := m.Subscribe(m.Seq(), true, Filter{})
	defer sub.Close()
	old := snapEv("pbx1", "201")
	old.Snapshot.Seq = 5 // taken before event 11
	m.mu.Lock()
	m.resync["pbx1"] = true // as if a resync delivered it
	m.mu.Unlock()
	m.Apply(old)
	if d, _ := m.Device("pbx1:201"); d.Line != LineHeld || !d.Stale {
		t.Fatalf("an older snapshot was applied: %+v", d)
	}
	m.mu.Lock()
	delete(m.resync, "pbx1")
	again := m.again["pbx1"]
	m.mu.Unlock()
	if !again {
		t.Fatal("no second snapshot asked for")
	}
	m.Resync("pbx1")
	g := recvUntil(t, sub, func(m Message) bool { return m.Type == "device" && m.Event == "snapshot" })
	if g.Device.Stale || g.Device.Line != LineBusy {
		t.Fatalf("retaken snapshot %+v", g.Device)
	}
}

// TestStreamGroupFilter: a message published for a group (an operator
// queue's) reaches the clients of that group and those that see every
// group, live and in the backlog of a reconnect; messages for no group
// reach everyone.
func TestStreamGroupFilter(t *testing.T) {
	m := newModel(t, Options{})
	ops, _ := m.Subscribe(0, false, Filter{Account: "olga", Groups: []string{"operators"}})
	sales, _ := m.Subscribe(0, false, Filter{Account: "gina", Groups: []string{"sales"}})
	sup, _ := m.Subscribe(0, false, Filter{Account: "sam", AllGroups: true})
	for _, s := range []*Subscription{ops, sales, sup} {
		defer s.Close()
		recv(t, s) // snapshot
	}
	m.PublishGroup(Message{Type: "queue", Event: "joined", CallID: "gateway:c1"}, "operators")
	m.PublishGroup(Message{Type: "queue", Event: "joined", CallID: "gateway:c2"}, "sales")
	m.Publish(Message{Type: "link_up", Source: "pbx1"})
	got := func(s *Subscription) []string {
		var out []string
		for {
			g := recv(t, s)
			if g.Type == "link_up" {
				return out
			}
			out = append(out, g.CallID)
		}
	}
	if g := got(ops); !slices.Equal(g, []string{"gateway:c1"}) {
		t.Errorf("operators' client got %v", g)
	}
	if g := got(sales); !slices.Equal(g, []string{"gateway:c2"}) {
		t.Errorf("sales client got %v", g)
	}
	if g := got(sup); !slices.Equal(g, []string{"gateway:c1", "gateway:c2"}) {
		t.Errorf("supervisor's client got %v", g)
	}
	// A reconnect's backlog is filtered the same way.
	again, snap := m.Subscribe(0, true, Filter{Account: "gina", Groups: []string{"sales"}})
	defer again.Close()
	if snap {
		t.Fatal("backlog expected, got a snapshot")
	}
	if g := got(again); !slices.Equal(g, []string{"gateway:c2"}) {
		t.Errorf("sales backlog %v", g)
	}
}

// TestStreamFilterLaterDevice: a filter naming a device the model did
// not know when the client subscribed still selects it once it appears
// (the filter's device bits cover the devices known then; later ones are
// looked up by id), and still keeps the others out.
func TestStreamFilterLaterDevice(t *testing.T) {
	f := newFake("pbx1", "201", "202")
	m := newModel(t, Options{}, f)
	sub, _ := m.Subscribe(0, false, Filter{Devices: map[string]bool{"pbx1:202": true, "pbx1:299": true}})
	defer sub.Close()
	recv(t, sub) // snapshot
	m.AddSource(f, "298", "299")
	m.Apply(ev("pbx1", "298", 1, plugins.EventDoNotDisturb, "", 0))
	m.Apply(ev("pbx1", "201", 2, plugins.EventDoNotDisturb, "", 0))
	m.Apply(ev("pbx1", "299", 3, plugins.EventDoNotDisturb, "", 0))
	m.Apply(ev("pbx1", "202", 4, plugins.EventDoNotDisturb, "", 0))
	var got []string
	for len(got) < 2 {
		got = append(got, recv(t, sub).Device.ID)
	}
	if !slices.Equal(got, []string{"pbx1:299", "pbx1:202"}) {
		t.Fatalf("filtered messages %v", got)
	}
}

// TestSnapshotWhilePublishing: clients subscribing while events flow get
// a snapshot and then every later message, in seq order, none missing
// and none twice (the snapshot is encoded outside the model's lock).
func TestSnapshotWhilePublishing(t *testing.T) {
	devs := make([]string, 300)
	for i := range devs {
		devs[i] = strconv.Itoa(1000 + i)
	}
	f := newFake("pbx1", devs...)
	m := newModel(t, Options{ClientQueue: 100000}, f)
	stop := make(chan struct{})
	published := make(chan uint64)
	go func() {
		seq := uint64(0)
		defer func() { published <- seq }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			seq++
			m.Apply(ev("pbx1", devs[seq%uint64(len(devs))], seq, plugins.EventDoNotDisturb, "", 0))
		}
	}()
	var subs []*Subscription
	for range 20 {
		sub, snap := m.Subscribe(0, false, Filter{})
		if !snap {
			t.Fatal("no snapshot")
		}
		subs = append(subs, sub)
		time.Sleep(time.Millisecond)
	}
	close(stop)
	<-published
	last := m.Seq()
	for i, sub := range subs {
		first := recv(t, sub)
		if first.Type != "snapshot" || len(first.Devices) != len(devs) {
			t.Fatalf("client %d: first message %s with %d devices", i, first.Type, len(first.Devices))
		}
		want := first.Seq + 1
		for want <= last {
			g := recv(t, sub)
			if g.Seq != want {
				t.Fatalf("client %d: seq %d after the snapshot at %d, want %d", i, g.Seq, first.Seq, want)
			}
			want++
		}
		sub.Close()
	}
}
