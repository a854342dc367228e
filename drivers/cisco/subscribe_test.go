package cisco_test

import (
	"errors"
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/cisco"
	"github.com/switchboard-gw/switchboard/drivers/drivertest"
	labcisco "github.com/switchboard-gw/switchboard/lab/cisco"
	"github.com/switchboard-gw/switchboard/plugins"
)

var groupScope = map[string]any{"subscription_scope": "group", "service_provider_id": "sp1", "group_id": "group1"}

// TestGroupSubscription: with subscription_scope group and an account
// allowed to, one subscription per event package covers every user of
// the group (6, however many devices are monitored, where per-user
// subscriptions would be 6 per device); events are routed by targetId;
// events of unmonitored users of the group (204 here) advance the one
// sequence of the subscription without being taken for lost events; a
// lost channel keeps the subscriptions; an unknown user is still refused.
// Before, the key did not exist and every device had six subscriptions.
func TestGroupSubscription(t *testing.T) {
	e := newEnv(t, labcisco.Config{WideSubscriptions: true}, groupScope)
	e.monitor("201", "202", "203")
	if st := e.sim.Stats(); st.WideSubscriptions != 6 || st.SubscriptionsAdded != 6 {
		t.Fatalf("sim stats %+v, want 6 group subscriptions and no other", st)
	}
	c := connect(t, e, "201", "202")
	// A call with an unmonitored user of the group.
	ref, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "203", Called: "204"})
	if err != nil {
		t.Fatal(err)
	}
	next(e, plugins.EventOriginated, "203")
	if err := e.d.Clear(bg, ref); err != nil {
		t.Fatal(err)
	}
	next(e, plugins.EventConnectionCleared, "203")
	if err := e.d.Clear(bg, c); err != nil {
		t.Fatal(err)
	}
	next(e, plugins.EventConnectionCleared, "201")
	if st := e.d.Stats(); st.SeqGaps != 0 || st.Wide != 6 {
		t.Fatalf("driver stats %+v: want 0 sequence gaps and 6 wide subscriptions", st)
	}
	if _, err := e.d.MonitorStart(bg, "999"); !errors.Is(err, plugins.ErrNotFound) {
		t.Fatalf("unknown user: %v, want ErrNotFound", err)
	}
	e.sim.DropChannels()
	next(e, plugins.EventLinkDown, "")
	next(e, plugins.EventLinkUp, "")
	if st := e.sim.Stats(); st.SubscriptionsAdded != 6 || st.ChannelSets != 1 {
		t.Fatalf("after the channel was lost: %+v", st)
	}
	drivertest.WaitFor(t, "202 idle", func() bool { return len(e.snapshot("202").Calls) == 0 })
}

// TestGroupSubscriptionRefused: an account not allowed to subscribe to
// the group is refused (403); the driver falls back to per-user
// subscriptions, and events flow.
func TestGroupSubscriptionRefused(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, groupScope)
	e.monitor("201", "202")
	if st := e.sim.Stats(); st.WideSubscriptions != 0 || st.SubscriptionsAdded != 12 {
		t.Fatalf("sim stats %+v, want 12 per-user subscriptions", st)
	}
	if st := e.d.Stats(); st.WideRefused != 1 {
		t.Fatalf("driver stats %+v", st)
	}
	c := connect(t, e, "201", "202")
	if err := e.d.Clear(bg, c); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventConnectionCleared, "201", plugins.StateNull)
}

// next skips events until one of typ at dev.
func next(e *env, typ plugins.EventType, dev string) plugins.Event {
	e.t.Helper()
	for {
		if ev := e.Next(); ev.Type == typ && ev.Device == dev {
			return ev
		}
	}
}

// TestSubscriptionScopeConfig: a wide scope needs its target; a target
// without a wide scope, or an unknown scope, is refused.
func TestSubscriptionScopeConfig(t *testing.T) {
	for _, tc := range []struct {
		keys string
		ok   bool
	}{
		{``, true},
		{`"subscription_scope": "user"`, true},
		{`"subscription_scope": "group", "service_provider_id": "sp", "group_id": "g"`, true},
		{`"subscription_scope": "service_provider", "service_provider_id": "sp"`, true},
		{`"subscription_scope": "group", "service_provider_id": "sp"`, false},
		{`"subscription_scope": "service_provider"`, false},
		{`"subscription_scope": "service_provider", "service_provider_id": "sp", "group_id": "g"`, false},
		{`"group_id": "g"`, false},
		{`"subscription_scope": "enterprise"`, false},
	} {
		cfg := `{"base_url": "https://xsp.example", "user": "u", "password": "p"`
		if tc.keys != "" {
			cfg += ", " + tc.keys
		}
		_, err := cisco.ParseConfig([]byte(cfg + "}"))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.keys, err, tc.ok)
		}
	}
}
