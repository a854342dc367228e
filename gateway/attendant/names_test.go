package attendant

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

// TestConsoleData: what an attendant console shows of a forwarded
// external call (issue 13): the caller's name and number, the party type,
// the number first called and who forwarded it, the PBX's global call id,
// on the device's connection and on the call; and the names survive a
// snapshot that carries them.
func TestConsoleData(t *testing.T) {
	f := newFake("pbx1", "200", "201")
	m := newModel(t, Options{}, f)
	m.Apply(snapEv("pbx1", "200"))
	m.Apply(snapEv("pbx1", "201"))
	e := ev("pbx1", "200", 1, plugins.EventDelivered, "c9", plugins.StateAlerting)
	e.Calling, e.CallingName, e.PartyType = "0049301234567", "Meyer GmbH", plugins.PartyExternal
	e.Called, e.OriginalCalled, e.LastRedirection = "200", "201", "201"
	e.GlobalCallID = "00001002251765101234"
	m.Apply(e)

	d, err := m.Device("pbx1:200")
	if err != nil || len(d.Calls) != 1 {
		t.Fatalf("device: %+v %v", d, err)
	}
	c := d.Calls[0]
	want := Connection{CallID: "pbx1:c9", State: "alerting", Other: "0049301234567", OtherName: "Meyer GmbH",
		PartyType: "external", Calling: "0049301234567", CallingName: "Meyer GmbH", Called: "200",
		OriginalCalled: "201", ForwardedFrom: "201", GlobalCallID: "00001002251765101234", Since: c.Since}
	if c != want {
		t.Errorf("connection:\n got %+v\nwant %+v", c, want)
	}
	call, err := m.Call("pbx1:c9")
	if err != nil || call.CallingName != "Meyer GmbH" || call.ForwardedFrom != "201" || call.OriginalCalled != "201" ||
		call.GlobalCallID != "00001002251765101234" || len(call.Parties) != 1 || call.Parties[0].PartyType != "external" {
		t.Errorf("call: %+v %v", call, err)
	}

	// A snapshot (after a resync) keeps what the console showed.
	m.Apply(snapEv("pbx1", "200", plugins.CallSnapshot{CallID: "c9", State: plugins.StateConnected, Other: "0049301234567",
		OtherName: "Meyer GmbH", PartyType: plugins.PartyExternal, GlobalCallID: "00001002251765101234",
		OriginalCalled: "201", LastRedirection: "201", Calling: "0049301234567", Called: "200"}))
	d, _ = m.Device("pbx1:200")
	if c := d.Calls[0]; c.OtherName != "Meyer GmbH" || c.PartyType != "external" || c.ForwardedFrom != "201" ||
		c.GlobalCallID == "" || c.State != "connected" {
		t.Errorf("after snapshot: %+v", c)
	}
}

// TestMessageWaiting: the lamp's message-waiting state follows the
// event and the snapshot.
func TestMessageWaiting(t *testing.T) {
	f := newFake("pbx1", "201")
	m := newModel(t, Options{}, f)
	m.Apply(snapEv("pbx1", "201"))
	e := ev("pbx1", "201", 1, plugins.EventMessageWaiting, "", plugins.StateUnspecified)
	e.MessageWaiting = true
	m.Apply(e)
	if d, _ := m.Device("pbx1:201"); !d.MessageWaiting {
		t.Fatalf("after the event: %+v", d)
	}
	m.Apply(snapEv("pbx1", "201"))
	if d, _ := m.Device("pbx1:201"); d.MessageWaiting {
		t.Fatalf("a snapshot without it keeps it on: %+v", d)
	}
}

// TestDirectoryNames: every lamp gets its name from the source's
// directory, paged to the end; a name from a call event fills in for a
// device the directory does not name, and the console can search by name.
func TestDirectoryNames(t *testing.T) {
	f := newFake("pbx1", "201", "202", "203")
	f.dir = []plugins.DirectoryEntry{{Device: "201", Name: "Empfang"}, {Device: "999", Name: "Not watched"},
		{Device: "202", Name: "Buchhaltung"}}
	m := newModel(t, Options{}, f)
	m.Resync("pbx1")
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, _ := m.Device("pbx1:201")
		b, _ := m.Device("pbx1:202")
		if a.Name == "Empfang" && b.Name == "Buchhaltung" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("names: %q %q; source saw %v", a.Name, b.Name, f.recorded())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := m.Device("pbx1:999"); err == nil {
		t.Error("a directory entry became a watched device")
	}
	e := ev("pbx1", "201", 1, plugins.EventDelivered, "c1", plugins.StateAlerting)
	e.Calling, e.CallingName = "203", "Lager"
	e.Called, e.CalledName = "201", "Someone Else"
	m.Apply(e)
	if d, _ := m.Device("pbx1:203"); d.Name != "Lager" {
		t.Errorf("name from the event: %q", d.Name)
	}
	if d, _ := m.Device("pbx1:201"); d.Name != "Empfang" {
		t.Errorf("an event overrode the directory name: %q", d.Name)
	}
	if got := m.Devices(DeviceQuery{Q: "buchh"}); len(got) != 1 || got[0].ID != "pbx1:202" {
		t.Errorf("search by name: %+v", got)
	}
}

// loopingDir is a source whose directory never ends: every page says
// there is a next one, the same.
type loopingDir struct {
	*fakeSource
	pages int
}

func (l *loopingDir) ListDevices(_ context.Context, token string, _ int) (plugins.DevicePage, error) {
	l.mu.Lock()
	l.pages++
	l.mu.Unlock()
	return plugins.DevicePage{Devices: []plugins.DirectoryEntry{{Device: "201", Name: "Empfang"}}, Next: "again"}, nil
}

// TestDirectoryHostile: a driver whose paging repeats its token is read
// once more and left; the names it did give are kept.
func TestDirectoryHostile(t *testing.T) {
	f := newFake("pbx1", "201")
	f.dir = []plugins.DirectoryEntry{} // declares ListDevices
	l := &loopingDir{fakeSource: f}
	m := newModel(t, Options{}, l)
	m.Resync("pbx1")
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, _ := m.Device("pbx1:201")
		l.mu.Lock()
		pages := l.pages
		l.mu.Unlock()
		m.mu.Lock()
		loading := m.dirLoading["pbx1"]
		m.mu.Unlock()
		if d.Name == "Empfang" && !loading && pages > 0 {
			if pages > 2 {
				t.Fatalf("read %d pages of a looping directory", pages)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("name %q, pages %d, loading %v", d.Name, pages, loading)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
