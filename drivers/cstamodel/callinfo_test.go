package cstamodel

import (
	"os"
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/plugins"
)

// TestCallInfo: what a console shows of a call, read from the ECMA-323
// fixtures of drivers/csta/testdata: the number first called and the
// device that forwarded the call (lastRedirectionDevice), the global call
// id (correlatorData; Avaya's UCID in its private data), and the caller's
// party type (networkCallingDevice: external). The device's tracked call
// keeps them for the next snapshot.
func TestCallInfo(t *testing.T) {
	for _, tc := range []struct {
		file, device string
		want         plugins.Event
	}{
		{"delivered_forwarded_external.xml", "200", plugins.Event{Device: "200", CallID: "31", ConnectionID: "31@200",
			Type: plugins.EventDelivered, State: plugins.StateAlerting, Cause: plugins.CauseRedirected, RawCause: "redirected",
			Calling: "0301234567", Called: "201", Other: "200", LastRedirection: "201", OriginalCalled: "201",
			GlobalCallID: "0A1B2C3D", PartyType: plugins.PartyExternal}},
		{"avaya_delivered_event.xml", "4750:CM1:10.0.0.5:0", plugins.Event{Device: "4750:CM1:10.0.0.5:0", CallID: "812",
			ConnectionID: "812@4750:CM1:10.0.0.5:0", Type: plugins.EventDelivered, State: plugins.StateAlerting,
			Cause: plugins.CauseNewCall, RawCause: "newCall", Calling: "4751:CM1:10.0.0.5:0", Called: "4750:CM1:10.0.0.5:0",
			Other: "4750:CM1:10.0.0.5:0", GlobalCallID: "00001008121602656783"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile("../csta/testdata/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			msg, err := csta.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			calls := Calls{}
			var tr Translator
			got, ok := tr.Event(calls, plugins.Event{Device: tc.device}, msg)
			if !ok || got != tc.want {
				t.Fatalf("event:\n got %+v\nwant %+v", got, tc.want)
			}
			c := calls[tc.want.CallID]
			if c.GlobalCallID != tc.want.GlobalCallID || c.LastRedirection != tc.want.LastRedirection ||
				c.OriginalCalled != tc.want.OriginalCalled || c.PartyType != tc.want.PartyType || c.Calling != tc.want.Calling {
				t.Errorf("tracked call: %+v", c)
			}
		})
	}
}
