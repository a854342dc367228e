package cisco_test

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/cisco/xsi"
	"github.com/switchboard-gw/switchboard/lab/cisco/xsiwire"
)

// schemaFor is the lab's schema structure (lab/cisco/xsiwire, transcribed
// from the BroadWorks Xsi XSDs) for a document root.
func schemaFor(root string) any {
	switch root {
	case "Channel":
		return &xsiwire.Channel{}
	case "ChannelHeartBeat":
		return &xsiwire.ChannelHeartBeat{}
	case "Subscription":
		return &xsiwire.Subscription{}
	case "EventResponse":
		return &xsiwire.EventResponse{}
	case "CallStartInfo":
		return &xsiwire.CallStartInfo{}
	case "Calls":
		return &xsiwire.Calls{}
	case "Call":
		return &xsiwire.CallSchema{}
	case "Conference":
		return &xsiwire.Conference{}
	case "DoNotDisturb":
		return &xsiwire.DoNotDisturb{}
	case "CallForwardingAlways", "CallForwardingBusy", "CallForwardingNoAnswer":
		return &xsiwire.Forwarding{XMLName: xml.Name{Space: xsiwire.Namespace, Local: root}}
	case "CallCenter":
		return &xsiwire.CallCenter{}
	case "ErrorInfo":
		return &xsiwire.ErrorInfo{}
	}
	return nil
}

func rootOf(t *testing.T, b []byte) string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if err != nil {
			t.Fatalf("no root: %v", err)
		}
		if s, ok := tok.(xml.StartElement); ok {
			return s.Name.Local
		}
	}
}

// TestFixturesFollowTheXsiSchemas checks every fixture in testdata/
// against the Xsi XSDs' structures (element names, sequence order,
// namespace, enumerations; events by their xsi1:type and their
// eventData's): what the golden tests pin must be what the schemas allow.
func TestFixturesFollowTheXsiSchemas(t *testing.T) {
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			root := rootOf(t, b)
			if root == "Event" {
				if _, _, err := xsiwire.CheckEvent(b); err != nil {
					t.Fatal(err)
				}
				return
			}
			v := schemaFor(root)
			if v == nil {
				t.Fatalf("no schema structure for <%s>", root)
			}
			if err := xsiwire.Unmarshal(b, v); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRequestsFollowTheXsiSchemas writes the documents the driver sends
// (drivers/cisco/xsi) and checks them against the Xsi XSDs' structures.
func TestRequestsFollowTheXsiSchemas(t *testing.T) {
	docs := []any{
		xsi.Channel{ChannelSetID: "set-1", Priority: 1, Weight: 100, Expires: 3600, ApplicationID: "Switchboard"},
		xsi.Subscription{Event: xsi.PackageAdvancedCall, Expires: 3600, ChannelSetID: "set-1", ApplicationID: "Switchboard"},
		xsi.Subscription{Event: xsi.PackageDoNotDisturb, Expires: 3600, ChannelSetID: "set-1", ApplicationID: "Switchboard"},
		xsi.Subscription{Expires: 3600},
		xsi.EventResponse{EventID: "e-1", StatusCode: 200, Reason: "OK"},
		xsi.DoNotDisturb{Active: true},
		xsi.Forwarding{XMLName: xml.Name{Space: xsi.Namespace, Local: xsi.ServiceCallForwardingAlways}, Active: true, ForwardToPhoneNumber: "202"},
		xsi.Forwarding{XMLName: xml.Name{Space: xsi.Namespace, Local: xsi.ServiceCallForwardingNoAnswer}, Active: false},
		xsi.CallCenter{AgentACDState: xsi.ACDUnavailable, AgentUnavailableCode: "Lunch"},
		xsi.Conference{ConferenceInfo: xsi.ConferenceInfo{Participants: []xsi.Participant{{CallID: "a:0"}, {CallID: "b:0"}}}},
	}
	for _, d := range docs {
		b, err := xsi.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		v := schemaFor(rootOf(t, b))
		if v == nil {
			t.Fatalf("no schema structure for %s", b)
		}
		if err := xsiwire.Unmarshal(b, v); err != nil {
			t.Errorf("%v\n%s", err, b)
		}
	}
}
