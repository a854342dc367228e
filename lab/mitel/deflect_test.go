package mitel

import (
	"testing"

	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

// TestDeflectFromQueue: DeflectCall takes the second of two calls waiting
// in hunt group 600's queue to 205 (Diverted at the group, Delivered at
// 205 with the group as last redirection); when the group's member is
// free the first call goes to it and the deflected one is not offered
// again. A connected call, an unknown connection and a busy destination
// are refused with the CSTA error and change nothing.
func TestDeflectFromQueue(t *testing.T) {
	s, err := New(Config{Devices: []string{"201", "202", "203", "204", "205", "206"}, Lines: 1,
		Groups: map[string][]string{"600": {"204"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	r := newRecorder(t, s, "201", "203", "204", "205", "600")
	busy := r.makeCall("202", "204") // the group's one member talks
	r.answer(busy, "204")
	first := r.makeCall("201", "600")
	second := r.makeCall("203", "600")
	r.drain()
	r.events = nil

	for _, tc := range []struct {
		name string
		cid  cstaxml.ConnectionID
		to   string
	}{
		{"connected call", cstaxml.Conn(busy, "204"), "205"},
		{"unknown connection", cstaxml.Conn("999", "600"), "205"},
		{"busy destination", cstaxml.Conn(second, "600"), "202"},
		{"no destination", cstaxml.Conn(second, "600"), ""},
		{"unknown destination", cstaxml.Conn(second, "600"), "299"},
	} {
		if resp := r.call(&cstaxml.DeflectCall{CallToBeDiverted: tc.cid, NewDestination: cstaxml.Device(tc.to)}); !isError(resp) {
			t.Errorf("deflect %s: %T, want a CSTA error", tc.name, resp)
		}
	}
	r.drain()
	if len(r.events) != 0 {
		t.Fatalf("refused deflects sent events: %q", r.events)
	}

	if resp := r.call(&cstaxml.DeflectCall{CallToBeDiverted: cstaxml.Conn(second, "600"), NewDestination: cstaxml.Device("205")}); isError(resp) {
		t.Fatalf("deflect the second waiting call: %+v", resp)
	}
	r.drain()
	want(t, "600", r.at("600"), []string{"600 DivertedEvent null redirected"})
	want(t, "205", r.at("205"), []string{"205 DeliveredEvent alerting redirected redir=600"})
	want(t, "203", r.at("203"), []string{
		"203 DivertedEvent connected redirected",
		"203 DeliveredEvent connected redirected redir=600",
	})

	r.events = nil
	r.clear(busy, "202") // 204 is free: the call still waiting goes to it
	r.drain()
	want(t, "204", r.at("204")[len(r.at("204"))-1:], []string{"204 DeliveredEvent alerting distributed redir=600"})
	want(t, "201", r.at("201"), []string{
		"201 DivertedEvent connected distributed",
		"201 DeliveredEvent connected distributed redir=600",
	})
	if got := r.at("205"); len(got) != 0 {
		t.Errorf("the deflected call was offered again: %q", got)
	}
	_ = first
}

func isError(m cstaxml.Message) bool {
	_, ok := m.(*cstaxml.ErrorCode)
	return ok
}
