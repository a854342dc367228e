package plugins

import (
	"strings"
	"testing"

	pb "github.com/switchboard-gw/switchboard/plugins/proto/driverv1"
)

// TestEnumsMatchProto keeps the Go enums in step with driver.proto: same
// numbers, same names.
func TestEnumsMatchProto(t *testing.T) {
	cases := []struct {
		prefix string
		proto  map[int32]string
		name   func(int32) string
		count  int
	}{
		{"SERVICE_", pb.Service_name, func(v int32) string { return Service(v).String() }, len(serviceNames)},
		{"EVENT_TYPE_", pb.EventType_name, func(v int32) string { return EventType(v).String() }, len(eventNames)},
		{"CONNECTION_STATE_", pb.ConnectionState_name, func(v int32) string { return ConnectionState(v).String() }, len(stateNames)},
		{"CAUSE_", pb.Cause_name, func(v int32) string { return Cause(v).String() }, len(causeNames)},
		{"FORWARDING_TYPE_", pb.ForwardingType_name, func(v int32) string { return ForwardingType(v).String() }, len(forwardNames)},
		{"PARTY_TYPE_", pb.PartyType_name, func(v int32) string { return PartyType(v).String() }, len(partyNames)},
		{"DEVICE_CATEGORY_", pb.DeviceCategory_name, func(v int32) string { return DeviceCategory(v).String() }, len(categoryNames)},
		{"AGENT_STATE_", pb.AgentState_name, func(v int32) string { return AgentState(v).String() }, len(agentNames)},
	}
	for _, c := range cases {
		if len(c.proto) != c.count {
			t.Errorf("%s: proto has %d values, Go %d", c.prefix, len(c.proto), c.count)
		}
		for v, n := range c.proto {
			if want := strings.ToLower(strings.TrimPrefix(n, c.prefix)); c.name(v) != want {
				t.Errorf("%s%d: Go %q, proto %q", c.prefix, v, c.name(v), want)
			}
		}
	}
	var e EventType
	if err := e.UnmarshalText([]byte("LINK_DOWN")); err != nil || e != EventLinkDown {
		t.Errorf("unmarshal: %v %v", e, err)
	}
}
