package cisco

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/cisco/xsi"
)

// client is a raw Xsi client of the simulator.
type client struct {
	t   *testing.T
	sim *Sim
	c   *http.Client
}

func newClient(t *testing.T, cfg Config) *client {
	t.Helper()
	cfg.User, cfg.Password = "admin", "secret"
	sim, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sim.CACertPEM())
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, sim: sim, c: &http.Client{Transport: tr}}
}

func (c *client) do(ctx context.Context, method, path string, body any, auth bool) *http.Response {
	c.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := xsi.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequestWithContext(ctx, method, c.sim.URL()+path, rd)
	if auth {
		req.SetBasicAuth("admin", "secret")
	}
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp
}

// stream opens a channel and returns its documents as they come.
func (c *client) stream(ctx context.Context, set string) (string, <-chan xsi.Doc) {
	c.t.Helper()
	resp := c.do(ctx, http.MethodPost, xsi.AsyncEventsRoot+"/channel",
		xsi.Channel{ChannelSetID: set, Priority: 1, Weight: 50, Expires: 3600}, true)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("channel add: %s", resp.Status)
	}
	docs := make(chan xsi.Doc, 64)
	sp := xsi.NewSplitter(resp.Body, 0)
	go func() {
		defer close(docs)
		defer resp.Body.Close()
		for {
			b, err := sp.Next()
			if err != nil {
				return
			}
			if d, err := xsi.Decode(b); err == nil {
				docs <- d
			}
		}
	}()
	first := <-docs
	if first.Channel == nil || first.Channel.ChannelID == "" {
		c.t.Fatalf("first document %+v", first)
	}
	return first.Channel.ChannelID, docs
}

func nextEvent(t *testing.T, docs <-chan xsi.Doc) *xsi.Event {
	t.Helper()
	for {
		select {
		case d, ok := <-docs:
			if !ok {
				t.Fatal("channel ended")
			}
			if d.Event != nil {
				return d.Event
			}
		case <-time.After(3 * time.Second):
			t.Fatal("no event")
		}
	}
}

func TestSimChannelSubscriptionEvents(t *testing.T) {
	// AckTimeout is a bound against a loaded machine (-race) sending the
	// test's own acknowledgements late, not a measured time.
	c := newClient(t, Config{AckTimeout: 300 * time.Millisecond, MaxResends: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if resp := c.do(ctx, http.MethodGet, xsi.ActionsRoot+"/user/201@lab.example/calls", nil, false); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no credentials: %s", resp.Status)
	}
	id, docs := c.stream(ctx, "set1")
	if resp := c.do(ctx, http.MethodPut, xsi.EventsRoot+"/channel/nope/heartbeat", nil, true); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("heartbeat on an unknown channel: %s", resp.Status)
	}
	if resp := c.do(ctx, http.MethodPut, xsi.EventsRoot+"/channel/"+id+"/heartbeat", nil, true); resp.StatusCode != http.StatusOK {
		t.Fatalf("heartbeat: %s", resp.Status)
	}
	if d := <-docs; !d.HeartBeat {
		t.Fatalf("want a heartbeat on the stream, got %+v", d)
	}
	for _, u := range []string{"201", "202"} {
		resp := c.do(ctx, http.MethodPost, xsi.EventsRoot+"/user/"+u+"@lab.example",
			xsi.Subscription{Event: xsi.PackageAdvancedCall, Expires: 3600, ChannelSetID: "set1"}, true)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("subscribe %s: %s", u, resp.Status)
		}
		ev := nextEvent(t, docs)
		if ev.EventData.Type != xsi.TypeCallSubscriptionEvent || ev.TargetID != u+"@lab.example" {
			t.Fatalf("subscription event %+v", ev)
		}
		c.do(ctx, http.MethodPost, xsi.EventsRoot+"/channel/eventresponse", xsi.EventResponse{EventID: ev.EventID, StatusCode: 200, Reason: "OK"}, true)
	}
	// calls/new from 201 to 202: the BroadWorks order.
	resp := c.do(ctx, http.MethodPost, xsi.ActionsRoot+"/user/201@lab.example/calls/new?address=202", nil, true)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("calls/new: %s", resp.Status)
	}
	var want []string
	for _, w := range []string{"201 CallOriginatingEvent Click-to-Dial Alerting", "201 CallOriginatedEvent Originator Alerting",
		"202 CallReceivedEvent Terminator Alerting"} {
		want = append(want, w)
		ev := nextEvent(t, docs)
		got := strings.TrimSuffix(ev.TargetID, "@lab.example") + " " + ev.EventData.Type + " " +
			ev.EventData.Call.Personality + " " + ev.EventData.Call.State
		if got != w {
			t.Fatalf("event %q, want %q", got, w)
		}
		c.do(ctx, http.MethodPost, xsi.EventsRoot+"/channel/eventresponse", xsi.EventResponse{EventID: ev.EventID, StatusCode: 200}, true)
	}
	// An unacknowledged event comes again with the same eventID, then the
	// channel is terminated. DND changes come in their own package
	// (XSISubscription.xsd "Do Not Disturb"), not in Advanced Call.
	if resp := c.do(ctx, http.MethodPost, xsi.EventsRoot+"/user/202@lab.example",
		xsi.Subscription{Event: "Do Not Disturb", Expires: 3600, ChannelSetID: "set1"}, true); resp.StatusCode != http.StatusOK {
		t.Fatalf("subscribe to Do Not Disturb: %s", resp.Status)
	}
	c.do(ctx, http.MethodPut, xsi.ActionsRoot+"/user/202@lab.example/services/DoNotDisturb", xsi.DoNotDisturb{Active: true}, true)
	dnd := func() *xsi.Event { // an earlier event whose ack was late may come again first
		for {
			if ev := nextEvent(t, docs); ev.EventData != nil && ev.EventData.Type == xsi.TypeDoNotDisturbEvent {
				return ev
			}
		}
	}
	ev := dnd()
	again := dnd()
	if again.EventID != ev.EventID || again.SequenceNumber != ev.SequenceNumber {
		t.Fatalf("resent %+v, first %+v", again, ev)
	}
	term := nextEvent(t, docs)
	if term.Type != xsi.TypeChannelTerminatedEvent || term.ChannelID != id {
		t.Fatalf("terminated %+v", term)
	}
	deadline := time.Now().Add(3 * time.Second)
	for c.sim.Channels() != 0 || len(c.sim.Subscribed()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("channels %d, subscriptions %v after termination", c.sim.Channels(), c.sim.Subscribed())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The calls outlive the channel.
	if got := c.sim.CallStates("202"); len(got) != 1 || !strings.HasSuffix(got[0], ":Alerting") {
		t.Fatalf("202 calls %v", got)
	}
}

// TestSimCallCenter: PUT services/CallCenter changes the ACD state and
// emits AgentStateEvent on the Call Center Agent subscription only; an
// unknown state is refused.
func TestSimCallCenter(t *testing.T) {
	c := newClient(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, docs := c.stream(ctx, "set1")
	for _, pkg := range []string{xsi.PackageAdvancedCall, xsi.PackageCallCenterAgent} {
		resp := c.do(ctx, http.MethodPost, xsi.EventsRoot+"/user/201@lab.example",
			xsi.Subscription{Event: pkg, Expires: 3600, ChannelSetID: "set1"}, true)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("subscribe %s: %s", pkg, resp.Status)
		}
	}
	first := nextEvent(t, docs)
	if first.EventData.Type != xsi.TypeCallSubscriptionEvent {
		t.Fatalf("first event %+v", first)
	}
	c.do(ctx, http.MethodPost, xsi.EventsRoot+"/channel/eventresponse", xsi.EventResponse{EventID: first.EventID, StatusCode: 200}, true)
	path := xsi.ActionsRoot + "/user/201@lab.example/services/CallCenter"
	if resp := c.do(ctx, http.MethodPut, path, xsi.CallCenter{AgentACDState: "Dancing"}, true); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown state: %s", resp.Status)
	}
	if resp := c.do(ctx, http.MethodPut, path, xsi.CallCenter{AgentACDState: xsi.ACDUnavailable, AgentUnavailableCode: "Lunch"}, true); resp.StatusCode != http.StatusOK {
		t.Fatalf("unavailable: %s", resp.Status)
	}
	ev := nextEvent(t, docs)
	if ev.EventData.Type != xsi.TypeAgentStateEvent || ev.EventData.AgentState == nil ||
		*ev.EventData.AgentState != (xsi.AgentStateInfo{State: xsi.ACDUnavailable, UnavailableCode: "Lunch"}) {
		t.Fatalf("agent event %+v", ev)
	}
	if got := c.sim.AgentState("201"); got != xsi.ACDUnavailable {
		t.Fatalf("sim state %q", got)
	}
	var cc xsi.CallCenter
	resp := c.do(ctx, http.MethodGet, path, nil, true)
	b, _ := io.ReadAll(resp.Body)
	if err := xsi.Unmarshal(b, &cc); err != nil || cc.AgentACDState != xsi.ACDUnavailable || cc.AgentUnavailableCode != "Lunch" {
		t.Fatalf("GET %+v %v", cc, err)
	}
}
