package app

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

// The gateway as a CTI source (gwcti.go) against phones registered to a
// running gateway: the events its users' calls make, and the services
// on them, as the attendant model will use them (a.GatewaySource()).

// gwctiUsers are three more users (runApp has u1000), with extensions.
const gwctiUsers = `  - {username: u1001, password: secret, extension: "1001"}
  - {username: u1002, password: secret, extension: "1002"}
`

// evLog collects a source's events.
type evLog struct {
	t   *testing.T
	mu  sync.Mutex
	evs []plugins.Event
}

func (l *evLog) add(ev plugins.Event) {
	l.mu.Lock()
	l.evs = append(l.evs, ev)
	l.mu.Unlock()
}

func (l *evLog) all() []plugins.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]plugins.Event(nil), l.evs...)
}

// wait returns the first event ok accepts, failing after 10 s.
func (l *evLog) wait(what string, ok func(plugins.Event) bool) plugins.Event {
	l.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, ev := range l.all() {
			if ok(ev) {
				return ev
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	l.dump()
	l.t.Fatalf("event %s not seen", what)
	return plugins.Event{}
}

func (l *evLog) dump() {
	for _, ev := range l.all() {
		l.t.Logf("event %d %s dev=%s call=%s state=%s cause=%s calling=%s called=%s other=%s raw=%q",
			ev.Seq, ev.Type, ev.Device, ev.CallID, ev.State, ev.Cause, ev.Calling, ev.Called, ev.Other, ev.RawCause)
	}
}

// trail is device's call events on call id as "type/state[/cause]".
func (l *evLog) trail(device, id string) []string {
	var out []string
	for _, ev := range l.all() {
		if ev.Device != device || ev.CallID != id {
			continue
		}
		s := ev.Type.String() + "/" + ev.State.String()
		if ev.Cause != plugins.CauseUnspecified && ev.Cause != plugins.CauseNewCall {
			s += "/" + ev.Cause.String()
		}
		out = append(out, s)
	}
	return out
}

func is(t plugins.EventType, device string) func(plugins.Event) bool {
	return func(ev plugins.Event) bool { return ev.Type == t && ev.Device == device }
}

// runGW starts a gateway with u1000..u1002 and collects its gateway
// source's events.
func runGW(t *testing.T, extra string) (*App, *evLog) {
	t.Helper()
	l := &evLog{t: t}
	a := runApp(t, gwctiUsers+extra, func(a *App) { a.GatewaySource().SetOnEvent(l.add) })
	return a, l
}

// answeredCall places a call from u1000 to 1001 (answering) and returns
// the phones and the call's id as the events name it.
func answeredCall(t *testing.T, a *App, l *evLog) (p0, p1 *testPhone, pc *phoneCall, id string) {
	t.Helper()
	p0 = newTestPhone(t, a, "u1000", 0)
	p1 = newTestPhone(t, a, "u1001", 50*time.Millisecond)
	pc, st := p0.call("1001")
	if st != 200 {
		t.Fatalf("call to 1001: %d", st)
	}
	id = l.wait("u1001 established", is(plugins.EventEstablished, "u1001")).CallID
	return p0, p1, pc, id
}

func equal(a, b []string) bool {
	return strings.Join(a, " ") == strings.Join(b, " ")
}

func TestGatewaySourceCallEvents(t *testing.T) {
	a, l := runGW(t, "")
	src := a.GatewaySource()
	if !src.Up() || src.Name() != "gateway" {
		t.Fatalf("source up=%v name=%q", src.Up(), src.Name())
	}
	p0, _, pc, id := answeredCall(t, a, l)
	snap, err := src.Snapshot(context.Background(), "1001") // by extension
	if err != nil {
		t.Fatal(err)
	}
	if snap.Device != "u1001" || len(snap.Calls) != 1 || snap.Calls[0].CallID != id ||
		snap.Calls[0].State != plugins.StateConnected || snap.Calls[0].Other != "u1000" {
		t.Errorf("snapshot of u1001 during the call: %+v", snap)
	}
	// The caller hangs up.
	ch := p0.expect(pc.cid)
	p0.send(p0.request("BYE", pc.target, pc.cid, randHex(6), pc.toHdr, 3, "", nil))
	if res := p0.final(ch, "BYE"); res.status != 200 {
		t.Fatalf("BYE: %s", res.first)
	}
	l.wait("u1001 cleared", is(plugins.EventConnectionCleared, "u1001"))
	l.wait("u1000 cleared", is(plugins.EventConnectionCleared, "u1000"))

	wantCaller := []string{"originated/connected", "delivered/connected", "established/connected",
		"connection_cleared/null/normal_clearing"}
	wantCallee := []string{"delivered/alerting", "established/connected", "connection_cleared/null/normal_clearing"}
	if got := l.trail("u1000", id); !equal(got, wantCaller) {
		t.Errorf("u1000 events %q, want %q", got, wantCaller)
	}
	if got := l.trail("u1001", id); !equal(got, wantCallee) {
		t.Errorf("u1001 events %q, want %q", got, wantCallee)
	}
	// Every event is the gateway's, numbered from 1 without a gap.
	for i, ev := range l.all() {
		if ev.Seq != uint64(i+1) || ev.Driver != "gateway" || ev.Time.IsZero() {
			t.Errorf("event %d: seq %d driver %q time %v", i, ev.Seq, ev.Driver, ev.Time)
		}
		if ev.Type == plugins.EventEstablished && (ev.Calling != "u1000" || ev.Called != "u1001") {
			t.Errorf("established at %s: calling %q called %q", ev.Device, ev.Calling, ev.Called)
		}
	}
	if snap, _ := src.Snapshot(context.Background(), "u1001"); len(snap.Calls) != 0 {
		t.Errorf("snapshot after the call: %+v", snap)
	}
	if l.t.Failed() {
		l.dump()
	}
}

func TestGatewaySourceRegistration(t *testing.T) {
	a, l := runGW(t, "")
	p := newTestPhone(t, a, "u1002", 0)
	l.wait("u1002 link up", is(plugins.EventLinkUp, "u1002"))
	cid := randHex(8)
	ch := p.expect(cid)
	p.send(p.request("REGISTER", "sip:example.com", cid, randHex(6), "<sip:u1002@example.com>", 1, "", []string{"Expires: 0"}))
	res := p.final(ch, "REGISTER")
	if res.status == 401 {
		auth := digestMD5(md5Challenge(res, "WWW-Authenticate"), "REGISTER", "sip:example.com", "u1002", "secret")
		p.send(p.request("REGISTER", "sip:example.com", cid, randHex(6), "<sip:u1002@example.com>", 2, "",
			[]string{"Expires: 0", "Authorization: " + auth}))
		res = p.final(ch, "REGISTER")
	}
	if res.status != 200 {
		t.Fatalf("unregister: %s", res.first)
	}
	ev := l.wait("u1002 link down", is(plugins.EventLinkDown, "u1002"))
	if ev.Cause != plugins.CauseLinkFailure {
		t.Errorf("link down cause %s", ev.Cause)
	}
}

func TestGatewaySourceClear(t *testing.T) {
	a, l := runGW(t, "")
	p0, p1, _, id := answeredCall(t, a, l)
	err := a.GatewaySource().Clear(context.Background(), plugins.ConnectionRef{Device: "u1000", CallID: id})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*testPhone{p0, p1} {
		bye := p.wait("BYE", isReq("BYE"))
		if !strings.Contains(bye.get("Reason"), "cleared") {
			t.Errorf("%s: BYE Reason %q", p.user, bye.get("Reason"))
		}
	}
	for _, dev := range []string{"u1000", "u1001"} {
		ev := l.wait(dev+" cleared", is(plugins.EventConnectionCleared, dev))
		if ev.CallID != id || ev.Cause != plugins.CauseNormalClearing {
			t.Errorf("%s cleared: %+v", dev, ev)
		}
	}
	// The call is gone: clearing it again is an error, no panic.
	err = a.GatewaySource().Clear(context.Background(), plugins.ConnectionRef{Device: "u1000", CallID: id})
	if !errors.Is(err, plugins.ErrNotFound) {
		t.Errorf("clear of an ended call: %v", err)
	}
}

func TestGatewaySourceClearRinging(t *testing.T) {
	a, l := runGW(t, "")
	p0 := newTestPhone(t, a, "u1000", 0)
	p1 := newTestPhone(t, a, "u1001", 0) // rings forever
	res := make(chan int, 1)
	go func() { _, st := p0.call("1001"); res <- st }()
	id := l.wait("u1001 alerting", is(plugins.EventDelivered, "u1001")).CallID
	if err := a.GatewaySource().Clear(context.Background(), plugins.ConnectionRef{Device: "u1001", CallID: id}); err != nil {
		t.Fatal(err)
	}
	if st := <-res; st != 603 {
		t.Errorf("caller got %d, want 603", st)
	}
	p1.wait("CANCEL", isReq("CANCEL"))
	ev := l.wait("u1001 cleared", is(plugins.EventConnectionCleared, "u1001"))
	if ev.CallID != id {
		t.Errorf("cleared %+v", ev)
	}
}

func TestGatewaySourceSingleStepTransfer(t *testing.T) {
	a, l := runGW(t, "")
	p0, p1, _, id := answeredCall(t, a, l)
	p2 := newTestPhone(t, a, "u1002", 50*time.Millisecond)
	ref, err := a.GatewaySource().SingleStepTransfer(context.Background(), plugins.ConnectionRef{Device: "u1001", CallID: id}, "1002")
	if err != nil {
		t.Fatal(err)
	}
	if ref.CallID != id {
		t.Errorf("transfer ref %+v", ref)
	}
	inv := p2.wait("INVITE at the target", isReq("INVITE"))
	if !strings.Contains(inv.get("From"), "u1000") {
		t.Errorf("target's INVITE From %q: want the transferee u1000", inv.get("From"))
	}
	p1.wait("BYE to the transferor", isReq("BYE"))
	ev := l.wait("u1001 transferred", is(plugins.EventTransferred, "u1001"))
	if ev.State != plugins.StateNull || ev.Cause != plugins.CauseSingleStepTransfer || ev.Other != "u1002" {
		t.Errorf("transferor's event %+v", ev)
	}
	ev = l.wait("u1000 transferred", is(plugins.EventTransferred, "u1000"))
	if ev.State != plugins.StateConnected || ev.Other != "u1002" {
		t.Errorf("transferee's event %+v", ev)
	}
	l.wait("u1002 transferred", is(plugins.EventTransferred, "u1002"))
	if p0.seen(isReq("BYE")) {
		t.Error("the transferee got a BYE")
	}
	snap, err := a.GatewaySource().Snapshot(context.Background(), "u1002")
	if err != nil || len(snap.Calls) != 1 || snap.Calls[0].CallID != id || snap.Calls[0].Other != "u1000" {
		t.Errorf("target's snapshot %+v %v", snap, err)
	}
}

func TestGatewaySourceHoldRetrieve(t *testing.T) {
	a, l := runGW(t, "")
	_, p1, _, id := answeredCall(t, a, l)
	src := a.GatewaySource()
	ref := plugins.ConnectionRef{Device: "u1000", CallID: id}
	if err := src.Hold(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	reinvite := func(m *phoneMsg) bool { return m.method == "INVITE" && strings.Contains(m.get("To"), "tag=") }
	held := p1.wait("re-INVITE", reinvite)
	if !strings.Contains(held.body, "a=sendonly") && !strings.Contains(held.body, "a=inactive") {
		t.Errorf("hold offer:\n%s", held.body)
	}
	ev := l.wait("u1000 held", is(plugins.EventHeld, "u1000"))
	if ev.State != plugins.StateHold {
		t.Errorf("holder's event %+v", ev)
	}
	if ev := l.wait("u1001 held", is(plugins.EventHeld, "u1001")); ev.State != plugins.StateConnected {
		t.Errorf("held party's event %+v", ev)
	}
	if snap, _ := src.Snapshot(context.Background(), "u1000"); len(snap.Calls) != 1 || snap.Calls[0].State != plugins.StateHold {
		t.Errorf("snapshot on hold %+v", snap)
	}
	if err := src.Retrieve(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	p1.wait("second re-INVITE", func(m *phoneMsg) bool {
		return reinvite(m) && m != held && strings.Contains(m.body, "a=sendrecv")
	})
	if ev := l.wait("u1000 retrieved", is(plugins.EventRetrieved, "u1000")); ev.State != plugins.StateConnected {
		t.Errorf("retrieve event %+v", ev)
	}
	// Digits to the far party: one INFO per digit.
	if err := src.GenerateDigits(context.Background(), ref, "5#"); err != nil {
		t.Fatal(err)
	}
	p1.wait("INFO 5", func(m *phoneMsg) bool { return m.method == "INFO" && strings.Contains(m.body, "Signal=5") })
	p1.wait("INFO #", func(m *phoneMsg) bool { return m.method == "INFO" && strings.Contains(m.body, "Signal=#") })
}

func TestGatewaySourceDNDAndForwarding(t *testing.T) {
	a, l := runGW(t, "")
	src := a.GatewaySource()
	ctx := context.Background()
	p0 := newTestPhone(t, a, "u1000", 0)
	p1 := newTestPhone(t, a, "u1001", 50*time.Millisecond)
	p2 := newTestPhone(t, a, "u1002", 50*time.Millisecond)
	if err := src.SetDND(ctx, "u1001", true); err != nil {
		t.Fatal(err)
	}
	if ev := l.wait("dnd event", is(plugins.EventDoNotDisturb, "u1001")); !ev.DND {
		t.Errorf("dnd event %+v", ev)
	}
	if _, st := p0.call("1001"); st != 486 {
		t.Errorf("call to a user with DND: %d, want 486", st)
	}
	if p1.seen(isReq("INVITE")) {
		t.Error("the DND user's phone rang")
	}
	v, err := a.store.Setting(ctx, "gwcti.features.u1001")
	if err != nil || !strings.Contains(v, `"dnd":true`) {
		t.Errorf("stored features %q %v", v, err)
	}
	if snap, _ := src.Snapshot(ctx, "u1001"); !snap.DND {
		t.Errorf("snapshot %+v", snap)
	}
	if err := src.SetDND(ctx, "u1001", false); err != nil {
		t.Fatal(err)
	}
	// Unconditional forwarding to 1002.
	fw := plugins.Forwarding{Type: plugins.ForwardImmediate, To: "1002", Enabled: true}
	if err := src.SetForwarding(ctx, "u1001", fw); err != nil {
		t.Fatal(err)
	}
	if _, st := p0.call("1001"); st != 200 {
		t.Fatalf("forwarded call: %d", st)
	}
	inv := p2.wait("forwarded INVITE", isReq("INVITE"))
	if !strings.Contains(inv.get("Diversion"), "unconditional") {
		t.Errorf("Diversion %q", inv.get("Diversion"))
	}
	ev := l.wait("u1001 diverted", is(plugins.EventDiverted, "u1001"))
	if ev.Cause != plugins.CauseCallForwardImmediate || ev.Other != "1002" {
		t.Errorf("diverted event %+v", ev)
	}
	if p1.seen(isReq("INVITE")) {
		t.Error("the forwarding user's phone rang")
	}
	if snap, _ := src.Snapshot(ctx, "u1001"); len(snap.Forwarding) != 1 || snap.Forwarding[0] != fw {
		t.Errorf("snapshot forwarding %+v", snap.Forwarding)
	}
}

func TestGatewaySourceDeflect(t *testing.T) {
	a, l := runGW(t, "")
	p0 := newTestPhone(t, a, "u1000", 0)
	p1 := newTestPhone(t, a, "u1001", 0) // rings forever
	p2 := newTestPhone(t, a, "u1002", 50*time.Millisecond)
	res := make(chan int, 1)
	go func() { _, st := p0.call("1001"); res <- st }()
	id := l.wait("u1001 alerting", is(plugins.EventDelivered, "u1001")).CallID
	err := a.GatewaySource().Deflect(context.Background(), plugins.ConnectionRef{Device: "u1001", CallID: id}, "1002")
	if err != nil {
		t.Fatal(err)
	}
	if st := <-res; st != 200 {
		t.Errorf("deflected call: %d", st)
	}
	p1.wait("CANCEL", isReq("CANCEL"))
	if inv := p2.wait("INVITE", isReq("INVITE")); !strings.Contains(inv.get("Diversion"), "deflection") {
		t.Errorf("Diversion %q", inv.get("Diversion"))
	}
	if ev := l.wait("u1002 established", is(plugins.EventEstablished, "u1002")); ev.CallID != id {
		t.Errorf("established %+v", ev)
	}
}

// TestGatewaySourceHostile: requests on unknown devices and calls, on a
// call that ended, malformed ones, services not offered, and a Clear
// racing a transfer: errors the caller can test, no panic (-race).
func TestGatewaySourceHostile(t *testing.T) {
	a, l := runGW(t, "")
	src := a.GatewaySource()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"clear unknown call", src.Clear(ctx, plugins.ConnectionRef{Device: "u1000", CallID: "nope"}), plugins.ErrNotFound},
		{"clear unknown device", src.Clear(ctx, plugins.ConnectionRef{Device: "u9999", CallID: "x"}), plugins.ErrNotFound},
		{"clear empty call", src.Clear(ctx, plugins.ConnectionRef{Device: "u1000"}), plugins.ErrInvalidArgument},
		{"hold unknown call", src.Hold(ctx, plugins.ConnectionRef{Device: "u1000", CallID: "nope"}), plugins.ErrNotFound},
		{"digits bad", src.GenerateDigits(ctx, plugins.ConnectionRef{Device: "u1000", CallID: "nope"}, "5x"), plugins.ErrInvalidArgument},
		{"dnd unknown device", src.SetDND(ctx, "nobody", true), plugins.ErrNotFound},
		{"forwarding bad type", src.SetForwarding(ctx, "u1000", plugins.Forwarding{Type: 99, To: "1", Enabled: true}), plugins.ErrInvalidArgument},
		{"forwarding bad number", src.SetForwarding(ctx, "u1000", plugins.Forwarding{Type: plugins.ForwardBusy, To: "1;x", Enabled: true}), plugins.ErrInvalidArgument},
		{"forwarding long number", src.SetForwarding(ctx, "u1000", plugins.Forwarding{Type: plugins.ForwardBusy, To: strings.Repeat("1", 65), Enabled: true}), plugins.ErrInvalidArgument},
		{"answer", src.Answer(ctx, plugins.ConnectionRef{Device: "u1000", CallID: "x"}), plugins.ErrNotSupported},
		{"agent state", src.SetAgentState(ctx, plugins.AgentStateRequest{Device: "u1000"}), plugins.ErrNotSupported},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if _, err := src.Conference(ctx, plugins.ConnectionRef{Device: "u1000", CallID: "x"}, plugins.ConnectionRef{}); !errors.Is(err, plugins.ErrNotSupported) {
		t.Errorf("conference: %v", err)
	}
	if _, err := src.MakeCall(ctx, plugins.MakeCallRequest{Calling: "u1000", Called: "9999"}); !errors.Is(err, plugins.ErrInvalidArgument) {
		t.Errorf("make call to a number without a route: %v", err)
	}
	if _, err := src.MakeCall(ctx, plugins.MakeCallRequest{Calling: "nobody", Called: "1001"}); !errors.Is(err, plugins.ErrNotFound) {
		t.Errorf("make call from an unknown device: %v", err)
	}
	if _, err := src.MakeCall(ctx, plugins.MakeCallRequest{Calling: "u1002", Called: "1001"}); !errors.Is(err, plugins.ErrFailedPrecondition) {
		t.Errorf("make call from a device not registered: %v", err)
	}
	if _, err := src.SingleStepTransfer(ctx, plugins.ConnectionRef{Device: "u1000", CallID: "nope"}, "1002"); !errors.Is(err, plugins.ErrNotFound) {
		t.Errorf("transfer of an unknown call: %v", err)
	}
	caps, _ := src.Capabilities(ctx)
	for _, s := range []plugins.Service{plugins.ServiceAnswer, plugins.ServiceConference, plugins.ServiceSetAgentState} {
		if caps.Supports(s) {
			t.Errorf("capabilities list %s, which is not supported", s)
		}
	}

	// A party that is not on the call; then Clear racing a transfer.
	p0, p1, _, id := answeredCall(t, a, l)
	if err := src.Hold(ctx, plugins.ConnectionRef{Device: "u1002", CallID: id}); !errors.Is(err, plugins.ErrInvalidArgument) {
		t.Errorf("hold by a non-party: %v", err)
	}
	_ = newTestPhone(t, a, "u1002", 300*time.Millisecond)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, errs[0] = src.SingleStepTransfer(ctx, plugins.ConnectionRef{Device: "u1001", CallID: id}, "1002")
	}()
	go func() {
		defer wg.Done()
		errs[1] = src.Clear(ctx, plugins.ConnectionRef{Device: "u1000", CallID: id})
	}()
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, plugins.ErrNotFound) && !errors.Is(err, plugins.ErrFailedPrecondition) {
			t.Errorf("racing request %d: unexpected error %v", i, err)
		}
	}
	// Whatever won, the call ends for both original phones.
	p0.wait("BYE at the caller", isReq("BYE"))
	if !p1.seen(isReq("BYE")) {
		p1.wait("BYE at the callee", isReq("BYE"))
	}
	l.wait("u1000 cleared", func(ev plugins.Event) bool {
		return ev.Type == plugins.EventConnectionCleared && ev.Device == "u1000" && ev.CallID == id
	})
	deadline := time.Now().Add(10 * time.Second)
	for len(a.calls.Calls()) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(a.calls.Calls()); n != 0 {
		t.Errorf("%d calls left after the race", n)
	}
	t.Logf("racing transfer and clear: %v", errs)
}

func TestGatewaySourceMakeCall(t *testing.T) {
	a, l := runGW(t, "")
	src := a.GatewaySource()
	p0 := newTestPhone(t, a, "u1000", 50*time.Millisecond)
	p1 := newTestPhone(t, a, "u1001", 50*time.Millisecond)
	ref, err := src.MakeCall(context.Background(), plugins.MakeCallRequest{Calling: "u1000", Called: "1001"})
	if err != nil {
		t.Fatal(err)
	}
	// The user's own phone rings first, showing the number it calls.
	inv0 := p0.wait("INVITE at the calling phone", isReq("INVITE"))
	if !strings.Contains(inv0.get("From"), "sip:1001@") {
		t.Errorf("calling phone's INVITE From %q: want the called number", inv0.get("From"))
	}
	if p1.seen(isReq("INVITE")) && !p0.seen(func(m *phoneMsg) bool { return m.method == "ACK" }) {
		t.Error("the destination rang before the calling phone answered")
	}
	// Then the destination, as called by the user.
	inv1 := p1.wait("INVITE at the destination", isReq("INVITE"))
	if !strings.Contains(inv1.get("From"), "u1000") {
		t.Errorf("destination's INVITE From %q: want u1000", inv1.get("From"))
	}
	if ev := l.wait("u1000 service initiated", is(plugins.EventServiceInitiated, "u1000")); ev.CallID != ref.CallID {
		t.Errorf("service initiated %+v", ev)
	}
	ev := l.wait("u1001 established", is(plugins.EventEstablished, "u1001"))
	if ev.CallID != ref.CallID || ev.Calling != "u1000" {
		t.Errorf("established %+v", ev)
	}
	l.wait("u1000 established", is(plugins.EventEstablished, "u1000"))
	// They talk through the relay: each phone's SDP points at the relay,
	// and what one sends there reaches the other, both ways.
	at0, at1 := mediaOf(inv0.body), mediaOf(inv1.body)
	if at0.Port == 0 || at1.Port == 0 || at0.Port == p1.rtp.LocalAddr().(*net.UDPAddr).Port {
		t.Fatalf("SDP not through the relay:\n%s\n%s", inv0.body, inv1.body)
	}
	go p0.sendRTP(at0, 25, 0x1000)
	if n := p1.recvRTP(0x1000, 3*time.Second); n < 10 {
		t.Errorf("destination got %d of 25 RTP packets from the calling phone", n)
	}
	go p1.sendRTP(at1, 25, 0x2000)
	if n := p0.recvRTP(0x2000, 3*time.Second); n < 10 {
		t.Errorf("calling phone got %d of 25 RTP packets from the destination", n)
	}
	if err := src.Clear(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	p0.wait("BYE at the calling phone", isReq("BYE"))
	p1.wait("BYE at the destination", isReq("BYE"))
	l.wait("u1000 cleared", is(plugins.EventConnectionCleared, "u1000"))
	want := []string{"service_initiated/initiated/make_call", "originated/connected", "delivered/connected",
		"established/connected", "connection_cleared/null/normal_clearing"}
	if got := l.trail("u1000", ref.CallID); !equal(got, want) {
		t.Errorf("u1000 events %q, want %q", got, want)
	}
}

func TestGatewaySourceParkPickup(t *testing.T) {
	a, l := runGW(t, "")
	src := a.GatewaySource()
	ctx := context.Background()
	p0, p1, _, id := answeredCall(t, a, l)
	slot, err := src.Park(ctx, plugins.ConnectionRef{Device: "u1001", CallID: id}, "")
	if err != nil {
		t.Fatal(err)
	}
	if slot != "1" {
		t.Errorf("slot %q, want the first free one, 1", slot)
	}
	// The caller waits on hold; the parking phone's leg is released.
	hold := p0.wait("hold re-INVITE", func(m *phoneMsg) bool {
		return m.method == "INVITE" && strings.Contains(m.get("To"), "tag=") && strings.Contains(m.body, "a=sendonly")
	})
	if bye := p1.wait("BYE to the parker", isReq("BYE")); !strings.Contains(bye.get("Reason"), "parked") {
		t.Errorf("parker's BYE Reason %q", bye.get("Reason"))
	}
	if ev := l.wait("u1001 parked", is(plugins.EventParked, "u1001")); ev.Other != "1" || ev.State != plugins.StateNull {
		t.Errorf("parker's event %+v", ev)
	}
	if _, err := src.Park(ctx, plugins.ConnectionRef{Device: "u1000", CallID: id}, "1"); !errors.Is(err, plugins.ErrFailedPrecondition) {
		t.Errorf("park into a taken slot: %v", err)
	}
	if _, err := src.Pickup(ctx, "u1002", "99"); !errors.Is(err, plugins.ErrNotFound) {
		t.Errorf("pickup from an empty slot: %v", err)
	}
	// The parked party's own services wait for the pickup.
	if err := src.Hold(ctx, plugins.ConnectionRef{Device: "u1000", CallID: id}); !errors.Is(err, plugins.ErrFailedPrecondition) {
		t.Errorf("hold of a parked call: %v", err)
	}
	if _, err := src.Park(ctx, plugins.ConnectionRef{Device: "u1000", CallID: id}, ""); !errors.Is(err, plugins.ErrFailedPrecondition) {
		t.Errorf("parking a parked call again: %v", err)
	}
	// Another phone picks it up: rung with the parked party, bridged.
	p2 := newTestPhone(t, a, "u1002", 50*time.Millisecond)
	ref, err := src.Pickup(ctx, "u1002", slot)
	if err != nil {
		t.Fatal(err)
	}
	if ref.CallID != id {
		t.Errorf("pickup ref %+v", ref)
	}
	inv := p2.wait("INVITE at the picking phone", isReq("INVITE"))
	if !strings.Contains(inv.get("From"), "u1000") {
		t.Errorf("picking phone's INVITE From %q: want the parked u1000", inv.get("From"))
	}
	p0.wait("re-INVITE taking the caller off hold", func(m *phoneMsg) bool {
		return m.method == "INVITE" && m != hold && strings.Contains(m.get("To"), "tag=") && strings.Contains(m.body, "a=sendrecv")
	})
	ev := l.wait("u1002 transferred", is(plugins.EventTransferred, "u1002"))
	if ev.Cause != plugins.CauseCallPickup || ev.State != plugins.StateConnected {
		t.Errorf("picker's event %+v", ev)
	}
	if got := len(p1.all(isReq("BYE"))); got != 1 {
		t.Errorf("the parker got %d BYEs, want 1", got)
	}
	if p0.seen(isReq("BYE")) {
		t.Error("the parked caller got a BYE")
	}
	// The slot is free again.
	if _, err := src.Pickup(ctx, "u1002", slot); !errors.Is(err, plugins.ErrNotFound) {
		t.Errorf("pickup again: %v", err)
	}
}

// TestGatewaySourceMakeCallCleared: Clear while the calling user's own
// phone rings cancels it; the destination never rings.
func TestGatewaySourceMakeCallCleared(t *testing.T) {
	a, l := runGW(t, "")
	src := a.GatewaySource()
	p0 := newTestPhone(t, a, "u1000", 0) // rings forever
	p1 := newTestPhone(t, a, "u1001", 50*time.Millisecond)
	ref, err := src.MakeCall(context.Background(), plugins.MakeCallRequest{Calling: "u1000", Called: "1001"})
	if err != nil {
		t.Fatal(err)
	}
	p0.wait("INVITE at the calling phone", isReq("INVITE"))
	if err := src.Clear(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	p0.wait("CANCEL at the calling phone", isReq("CANCEL"))
	ev := l.wait("u1000 cleared", is(plugins.EventConnectionCleared, "u1000"))
	if ev.CallID != ref.CallID {
		t.Errorf("cleared %+v", ev)
	}
	time.Sleep(200 * time.Millisecond)
	if p1.seen(isReq("INVITE")) {
		t.Error("the destination rang for a cleared click-to-dial")
	}
}

// TestGatewaySourceTransferAttended: u1001 has a call from u1000 and one
// it placed to u1002; Transfer joins u1000 and u1002, u1001 leaves both.
func TestGatewaySourceTransferAttended(t *testing.T) {
	a, l := runGW(t, "")
	src := a.GatewaySource()
	p0, p1, _, id1 := answeredCall(t, a, l)
	p2 := newTestPhone(t, a, "u1002", 50*time.Millisecond)
	if _, st := p1.call("1002"); st != 200 {
		t.Fatalf("u1001's second call: %d", st)
	}
	id2 := l.wait("u1002 established", is(plugins.EventEstablished, "u1002")).CallID
	ctx := context.Background()
	if _, err := src.Transfer(ctx, plugins.ConnectionRef{Device: "u1001", CallID: id1},
		plugins.ConnectionRef{Device: "u1000", CallID: id2}); !errors.Is(err, plugins.ErrInvalidArgument) {
		t.Errorf("transfer across two devices: %v", err)
	}
	ref, err := src.Transfer(ctx, plugins.ConnectionRef{Device: "u1001", CallID: id1}, plugins.ConnectionRef{Device: "u1001", CallID: id2})
	if err != nil {
		t.Fatal(err)
	}
	if ref.CallID != id1 {
		t.Errorf("resulting call %+v, want %s", ref, id1)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(p1.all(isReq("BYE"))) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(p1.all(isReq("BYE"))); n != 2 {
		t.Errorf("the transferor got %d BYEs, want one per call", n)
	}
	if p0.seen(isReq("BYE")) || p2.seen(isReq("BYE")) {
		t.Error("a joined party got a BYE")
	}
	ev := l.wait("u1002 transferred", func(ev plugins.Event) bool {
		return ev.Type == plugins.EventTransferred && ev.Device == "u1002" && ev.CallID == id1
	})
	if ev.State != plugins.StateConnected || ev.Cause != plugins.CauseTransfer {
		t.Errorf("new party's event %+v", ev)
	}
	if ev := l.wait("u1001 transferred", is(plugins.EventTransferred, "u1001")); ev.State != plugins.StateNull {
		t.Errorf("transferor's event %+v", ev)
	}
	snap, err := src.Snapshot(ctx, "u1002")
	if err != nil || len(snap.Calls) != 1 || snap.Calls[0].CallID != id1 || snap.Calls[0].Other != "u1000" {
		t.Errorf("u1002's snapshot %+v %v", snap, err)
	}
	if snap, _ := src.Snapshot(ctx, "u1001"); len(snap.Calls) != 0 {
		t.Errorf("transferor still has calls: %+v", snap)
	}
}

// TestGatewaySourceMakeCallBusy: the number refuses (busy: DND): the
// calling user's phone, answered, gets a BYE saying why.
func TestGatewaySourceMakeCallBusy(t *testing.T) {
	a, l := runGW(t, "")
	src := a.GatewaySource()
	ctx := context.Background()
	p0 := newTestPhone(t, a, "u1000", 50*time.Millisecond)
	_ = newTestPhone(t, a, "u1001", 50*time.Millisecond)
	if err := src.SetDND(ctx, "u1001", true); err != nil {
		t.Fatal(err)
	}
	ref, err := src.MakeCall(ctx, plugins.MakeCallRequest{Calling: "u1000", Called: "1001"})
	if err != nil {
		t.Fatal(err)
	}
	bye := p0.wait("BYE at the calling phone", isReq("BYE"))
	if !strings.Contains(bye.get("Reason"), "cause=486") {
		t.Errorf("BYE Reason %q, want the destination's 486", bye.get("Reason"))
	}
	ev := l.wait("u1000 cleared", is(plugins.EventConnectionCleared, "u1000"))
	if ev.CallID != ref.CallID || ev.Cause != plugins.CauseBusy {
		t.Errorf("cleared %+v", ev)
	}
}
