package cisco_test

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/cisco/xsi"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// decodeAny decodes an Xsi document into the type its root names.
func decodeAny(t *testing.T, b []byte) any {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	var root string
	for root == "" {
		tok, err := d.Token()
		if err != nil {
			t.Fatalf("no root: %v", err)
		}
		if s, ok := tok.(xml.StartElement); ok {
			root = s.Name.Local
		}
	}
	var v any
	switch root {
	case "Event":
		ev, err := xsi.DecodeEvent(b)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	case "Channel":
		v = &xsi.Channel{}
	case "ChannelHeartBeat":
		v = &xsi.ChannelHeartBeat{}
	case "Subscription":
		v = &xsi.Subscription{}
	case "EventResponse":
		v = &xsi.EventResponse{}
	case "CallStartInfo":
		v = &xsi.CallStartInfo{}
	case "Calls":
		v = &xsi.Calls{}
	case "Call":
		v = &xsi.CallDoc{}
	case "Conference":
		v = &xsi.Conference{}
	case "DoNotDisturb":
		v = &xsi.DoNotDisturb{}
	case "CallForwardingAlways", "CallForwardingBusy", "CallForwardingNoAnswer":
		v = &xsi.Forwarding{}
	case "CallCenter":
		v = &xsi.CallCenter{}
	case "ErrorInfo":
		v = &xsi.ErrorInfo{}
	default:
		t.Fatalf("no type for root %q", root)
	}
	if err := xsi.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestGolden decodes every testdata/*.xml (Xsi documents in the form
// BroadWorks sends them, xsi: prefixes included), encodes it again and
// compares with the .golden file; the golden document decodes to the same
// value. Run with -update to rewrite the golden files after a deliberate
// change.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".xml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			v := decodeAny(t, data)
			out, err := xsi.Marshal(v)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			golden := strings.TrimSuffix(in, ".xml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, append(out, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			if got := string(out) + "\n"; got != string(want) {
				t.Errorf("encode mismatch\n got: %s\nwant: %s", got, want)
			}
			if again := decodeAny(t, out); !reflect.DeepEqual(v, again) {
				t.Errorf("decode(encode(v)) != v\n got: %#v\nwant: %#v", again, v)
			}
			// The channel decoder takes the stream documents.
			if doc, err := xsi.Decode(data); err == nil && doc.Event != nil && doc.Event.Type == "" {
				t.Errorf("event without type")
			}
		})
	}
}

// TestEventFields checks what the driver reads from the documents.
func TestEventFields(t *testing.T) {
	b, _ := os.ReadFile("testdata/call_received_event.xml")
	doc, err := xsi.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	ev := doc.Event
	if ev.Type != xsi.TypeSubscriptionEvent || ev.EventID != "0b1a7c54-66de-4a3f-8a0e-3c2f9d1e4b77" ||
		ev.SequenceNumber != 7 || ev.TargetID != "202@lab.example" || ev.EventData.Type != xsi.TypeCallReceivedEvent {
		t.Fatalf("event %+v", ev)
	}
	c := ev.EventData.Call
	if c.CallID != "callhalf-722156651:0" || c.ExtTrackingID != "15683:1" || c.Personality != "Terminator" ||
		c.State != "Alerting" || c.RemoteParty.Address != "tel:201" || c.RemoteParty.UserID != "201@lab.example" ||
		c.StartTime != 1763906400123 {
		t.Fatalf("call %+v", c)
	}
	b, _ = os.ReadFile("testdata/channel_terminated_event.xml")
	if doc, err = xsi.Decode(b); err != nil || doc.Event.Type != xsi.TypeChannelTerminatedEvent || doc.Event.Reason != "Expired" {
		t.Fatalf("terminated %+v %v", doc.Event, err)
	}
	b, _ = os.ReadFile("testdata/agent_state_event.xml")
	if doc, err = xsi.Decode(b); err != nil || doc.Event.EventData.Type != xsi.TypeAgentStateEvent ||
		doc.Event.EventData.AgentState == nil || *doc.Event.EventData.AgentState != (xsi.AgentStateInfo{State: xsi.ACDUnavailable, UnavailableCode: "Lunch"}) {
		t.Fatalf("agent state event %+v %v", doc.Event, err)
	}
	b, _ = os.ReadFile("testdata/call_subscription_event.xml")
	if doc, err = xsi.Decode(b); err != nil || len(doc.Event.EventData.Calls) != 2 || doc.Event.EventData.HookStatus != "Off-Hook" {
		t.Fatalf("subscription event %+v %v", doc.Event, err)
	}
}
