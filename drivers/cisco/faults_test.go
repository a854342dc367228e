package cisco_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/cisco"
	"github.com/switchboard-gw/switchboard/drivers/drivertest"
	labcisco "github.com/switchboard-gw/switchboard/lab/cisco"
	"github.com/switchboard-gw/switchboard/plugins"
)

func TestWrongPassword(t *testing.T) {
	sim, ca := newSim(t, labcisco.Config{})
	d := cisco.New()
	defer d.Close()
	err := d.Start(bg, plugins.StartRequest{Config: driverConfig(sim, ca, map[string]any{"password": "wrong"})})
	if !errors.Is(err, cisco.ErrAuth) || !errors.Is(err, plugins.ErrInvalidArgument) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("start with a wrong password: %v", err)
	}
}

func TestUntrustedCertificate(t *testing.T) {
	sim, _ := newSim(t, labcisco.Config{})
	d := cisco.New()
	defer d.Close()
	// No CA: the first attempt fails on the certificate, Start still
	// returns (the link is retried) and link_down is emitted.
	events := make(chan plugins.Event, 16)
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	go func() { _ = d.Events(ctx, func(ev plugins.Event) error { events <- ev; return nil }) }()
	if err := d.Start(bg, plugins.StartRequest{Config: driverConfig(sim, "", map[string]any{"tls_ca_file": nil, "request_timeout": "10s"})}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if ev.Type != plugins.EventLinkDown || !strings.Contains(ev.RawCause, "certificate") {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no link_down")
	}
	if _, err := d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"}); !errors.Is(err, plugins.ErrUnavailable) {
		t.Fatalf("make call with the link down: %v", err)
	}
}

func TestReconnectRestoresSubscriptions(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
	ids := e.monitor("201", "202", "203")
	c := connect(t, e, "201", "202")
	e.sim.DropChannels()
	ev := e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	if ev.Cause != plugins.CauseLinkFailure || ev.RawCause == "" {
		t.Fatalf("link down %+v", ev)
	}
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	if got := e.sim.Subscribed(); !slices.Equal(got, []string{"201", "202", "203"}) {
		t.Fatalf("subscriptions after reconnect %v", got)
	}
	if st := e.sim.Stats(); st.ChannelsOpened != 2 || st.Subscriptions != 18 {
		// each device: the call package, Call Center Agent, Do Not
		// Disturb and the three Call Forwarding packages
		t.Fatalf("sim stats %+v", st)
	}
	// Calls outlive the channel: the fresh snapshot shows them.
	drivertest.WaitFor(t, "201's call in the snapshot", func() bool { return drivertest.CallStates(e.snapshot("201")) == c.CallID+":connected" })
	// Events flow with the same monitor ids.
	if err := e.d.Clear(bg, c); err != nil {
		t.Fatal(err)
	}
	if ev := e.Want(plugins.EventConnectionCleared, "201", plugins.StateNull); ev.MonitorID != ids["201"] {
		t.Fatalf("monitor id changed: %+v", ev)
	}
	e.Want(plugins.EventConnectionCleared, "202", plugins.StateNull)
	e.QuietButResync() // a restore snapshot slow to answer at load is asked again (RESYNC): harmless
}

func TestChannelTerminated(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
	e.monitor("201")
	e.sim.TerminateChannels("Expired")
	ev := e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	if !strings.Contains(ev.RawCause, "terminated") || !strings.Contains(ev.RawCause, "Expired") {
		t.Fatalf("link down %+v", ev)
	}
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	if got := e.sim.Subscribed(); !slices.Equal(got, []string{"201"}) {
		t.Fatalf("subscriptions %v", got)
	}
}

func TestHeartbeatWrongServer(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
	e.monitor("201")
	e.sim.ForgetChannels()
	ev := e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	if !strings.Contains(ev.RawCause, "heartbeat") || !strings.Contains(ev.RawCause, "404") {
		t.Fatalf("link down %+v", ev)
	}
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
}

func TestStalledChannel(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
	e.monitor("201", "202")
	e.sim.StallChannels()
	ev := e.WantWithin(stallWait, plugins.EventLinkDown, "", plugins.StateUnspecified)
	if !strings.Contains(ev.RawCause, "no document streamed") {
		t.Fatalf("link down %+v", ev)
	}
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	if e.d.Stats().Stalls == 0 {
		t.Fatal("stall not counted")
	}
	connect(t, e, "201", "202")
}

func TestAcknowledgement(t *testing.T) {
	e := newEnv(t, labcisco.Config{AckTimeout: 200 * time.Millisecond}, nil)
	e.monitor("201")
	// The first response is lost: the event comes again and is seen once.
	e.sim.IgnoreAcks(1)
	if err := e.d.SetDND(bg, "201", true); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventDoNotDisturb, "201", plugins.StateUnspecified)
	drivertest.WaitFor(t, "the resent event", func() bool { return e.d.Stats().Duplicates >= 1 })
	if st := e.sim.Stats(); st.Resends < 1 {
		t.Fatalf("sim stats %+v", st)
	}
	e.Quiet()
	// Events that stay unacknowledged end the channel; the driver reopens it.
	e.sim.IgnoreAcks(100)
	if err := e.d.SetDND(bg, "201", false); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventDoNotDisturb, "201", plugins.StateUnspecified)
	ev := e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	if !strings.Contains(ev.RawCause, "NonResponsiveChannel") { // XSIDataTypes.xsd ChannelTerminatedReason
		t.Fatalf("link down %+v", ev)
	}
	e.sim.IgnoreAcks(0)
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
}

func TestChannelAndSubscriptionRefresh(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, map[string]any{"channel_expires": "1s", "subscription_expires": "1s"})
	e.monitor("201")
	time.Sleep(1800 * time.Millisecond) // past the 1s granted: both must have been refreshed
	st := e.sim.Stats()
	if st.ChannelsOpened != 1 || st.ChannelUpdates == 0 || st.SubscriptionRefreshes == 0 || e.sim.Channels() != 1 {
		t.Fatalf("sim stats %+v, channels %d", st, e.sim.Channels())
	}
	if got := e.sim.Subscribed(); !slices.Equal(got, []string{"201"}) {
		t.Fatalf("subscriptions %v", got)
	}
	e.Quiet()
}

func TestHostileChannel(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, map[string]any{"max_event_bytes": 65536})
	e.monitor("201", "202")
	// Broken documents are dropped; the channel stays.
	for _, raw := range [][]byte{labcisco.BadXML, labcisco.NotXML, labcisco.XMLBomb, []byte("garbage between documents")} {
		e.sim.SendRaw(raw)
	}
	connect(t, e, "201", "202")
	if st := e.d.Stats(); st.Malformed < 4 || st.LinkUps != 1 {
		t.Fatalf("stats after bad documents %+v", st)
	}
	// A document past max_event_bytes can't be trusted: the channel is
	// reopened.
	e.sim.SendRaw(labcisco.Oversize(100000))
	ev := e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	if !strings.Contains(ev.RawCause, "too large") {
		t.Fatalf("link down %+v", ev)
	}
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	if got := e.sim.Subscribed(); !slices.Equal(got, []string{"201", "202"}) {
		t.Fatalf("subscriptions %v", got)
	}
}

func TestSlowServer(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, map[string]any{"request_timeout": "300ms"})
	e.monitor("201")
	e.sim.SetDelay(time.Second)
	ctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
	defer cancel()
	if err := e.d.SetDND(ctx, "201", true); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow server: %v", err)
	}
	// The request timeout bounds a call without a deadline.
	if err := e.d.SetDND(bg, "201", true); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow server without deadline: %v", err)
	}
	e.sim.SetDelay(0)
}

func TestReconnectManyMonitors(t *testing.T) {
	var users []string
	for i := range 300 {
		users = append(users, strconv.Itoa(1000+i))
	}
	e := newEnv(t, labcisco.Config{Users: users}, nil)
	start := time.Now()
	e.monitor(users...)
	first := time.Since(start)
	e.sim.DropChannels()
	e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	start = time.Now()
	// Six subscriptions per device (the call package and five service
	// packages): on a loaded machine under -race this takes well over the
	// recorder's 5 s wait. The bound is against a hang, not a target (the
	// time is logged): 60 s, or three times what monitoring them took in
	// the first place, the same subscriptions (at load 47 that was ~40 s,
	// and the restore missed a fixed 60 s).
	// A RESYNC may come first: a restore snapshot slow to answer is taken
	// again, and the host told (as in TestReconnectRestoresSubscriptions;
	// one came before the link_up in a -count=3 run at load 25).
	bound := max(60*time.Second, 3*first)
	timeout := time.After(bound)
	resyncs := 0
	for up := false; !up; {
		select {
		case ev := <-e.Events():
			switch ev.Type {
			case plugins.EventLinkUp:
				up = true
			case plugins.EventResync:
				resyncs++
			default:
				t.Fatalf("got %s, want link_up", ev.Type)
			}
		case <-timeout:
			t.Fatalf("no link_up within %s (monitoring took %s): %d of 300 subscribed again", bound, first, len(e.sim.Subscribed()))
		}
	}
	if got := len(e.sim.Subscribed()); got != 300 {
		t.Fatalf("%d subscriptions restored, want 300", got)
	}
	t.Logf("300 subscriptions restored in %s (monitoring them took %s), %d RESYNC before the link up", time.Since(start), first, resyncs)
}

// TestBearerToken: Webex Calling's Xsi takes an OAuth token instead of
// Basic credentials.
func TestBearerToken(t *testing.T) {
	e := newEnv(t, labcisco.Config{Token: "t0ken"}, map[string]any{"user": nil, "password": nil, "bearer_token": "t0ken"})
	e.monitor("201", "202")
	connect(t, e, "201", "202")
	d := cisco.New()
	defer d.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, e.sim.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	err := d.Start(bg, plugins.StartRequest{Config: driverConfig(e.sim, ca,
		map[string]any{"user": nil, "password": nil, "bearer_token": "wrong"})})
	if !errors.Is(err, cisco.ErrAuth) {
		t.Fatalf("wrong token: %v", err)
	}
}

// TestSlowLorisChannel: a channel that trickles a document that never
// ends is dead too.
func TestSlowLorisChannel(t *testing.T) {
	e := newEnv(t, labcisco.Config{AckTimeout: 200 * time.Millisecond}, nil)
	e.monitor("201")
	e.sim.TrickleChannels()
	ev := e.WantWithin(stallWait, plugins.EventLinkDown, "", plugins.StateUnspecified)
	if !strings.Contains(ev.RawCause, "no document streamed") {
		t.Fatalf("link down %+v", ev)
	}
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
}

// TestSubscriptionTerminated: when BroadWorks ends a device's
// subscriptions (SubscriptionTerminatedEvent, XSISubscription.xsd: expiry,
// an administrator), the driver subscribes again at once, so the device's
// calls and DND keep reaching the console without waiting for the next
// refresh.
func TestSubscriptionTerminated(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
	e.monitor("201", "202")
	if n := e.sim.TerminateSubscriptions("201"); n < 2 {
		t.Fatalf("%d subscriptions terminated, want the call and service ones", n)
	}
	drivertest.WaitFor(t, "201 subscribed again", func() bool {
		return slices.Contains(e.sim.Subscribed(), "201") && e.d.Stats().Renewals >= 1
	})
	drivertest.WaitFor(t, "the DND subscription renewed", func() bool { return e.d.Stats().Renewals >= 2 })
	if err := e.d.SetDND(bg, "201", true); err != nil {
		t.Fatal(err)
	}
	if ev := e.Want(plugins.EventDoNotDisturb, "201", plugins.StateUnspecified); !ev.DND {
		t.Fatalf("dnd event %+v", ev)
	}
	c := connect(t, e, "201", "202")
	if c.CallID == "" {
		t.Fatal("no call after the renewal")
	}
}
