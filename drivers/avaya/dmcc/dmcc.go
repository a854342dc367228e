// Package dmcc holds the Avaya Aura AE Services DMCC XML messages that
// drivers/csta has no type for: the vendor login inside
// StartApplicationSession, the device ID services (GetDeviceId,
// GetThirdPartyDeviceId, ReleaseDeviceId), session recovery
// (TransferMonitorObjects), and the ECMA-269 logical device feature
// services and events DMCC offers (GetDoNotDisturb, GetForwarding,
// DoNotDisturbEvent, ForwardingEvent, SetAgentState and the agent events).
// Both the driver (drivers/avaya) and the simulator (lab/avaya) use it, so
// the golden files in drivers/avaya/testdata pin the wire format for both.
//
// Sources: cti-protocols.md §3.1 (DMCC XML Programmer's Guide summaries,
// f-me/dmcc). Element names marked ~ come from one source only.
package dmcc

import (
	"encoding/xml"
	"strconv"
	"strings"

	"github.com/switchboard-gw/switchboard/drivers/csta"
)

// Namespace is Avaya's private namespace: the login, the device ID
// services and private data live in it.
const Namespace = "http://www.avaya.com/csta"

// Ports of the AE Services DMCC XML interface (§3.1).
const (
	PortPlain = 4721
	PortTLS   = 4722
)

// Release is one AE Services release and the protocol version URI it
// speaks (§3.1).
type Release struct {
	AES     string // "6.3"
	Version string // full protocolVersion URI
}

// Releases lists the protocol versions of AE Services, newest first. The
// 6.3.1 and later suffixes are from one source (~).
var Releases = []Release{
	{"8.0.1", csta.NamespacePrefix + "ed3/privC"}, // ~
	{"7.0", csta.NamespacePrefix + "ed3/privA"},   // ~
	{"6.3.3", csta.NamespacePrefix + "ed3/priv9"}, // ~
	{"6.3.1", csta.NamespacePrefix + "ed3/priv8"}, // ~
	{"6.3", csta.NamespacePrefix + "ed3/priv7"},
	{"6.2", csta.NamespacePrefix + "ed3/priv6"},
	{"6.1", csta.NamespacePrefix + "ed3/priv5"},
	{"5.2", csta.NamespacePrefix + "ed3/priv4"},
	{"4.2", csta.NamespacePrefix + "ed3/priv3"},
	{"4.1", csta.NamespacePrefix + "ed3/priv2"},
	{"4.0", csta.NamespacePrefix + "ed3/priv1"},
	{"3.1", csta.NamespacePrefix + "ed2/priv1"},
	{"3.0", "3.0"},
}

// Versions returns every protocol version URI, newest first.
func Versions() []string {
	out := make([]string, len(Releases))
	for i, r := range Releases {
		out[i] = r.Version
	}
	return out
}

// ParseVersion accepts an AE Services release ("6.3"), a suffix
// ("ed3/priv7") or a full URI, and returns the URI; ok is false when it
// names no known version.
func ParseVersion(s string) (string, bool) {
	s = strings.TrimSpace(s)
	for _, r := range Releases {
		if s == r.AES || s == r.Version || csta.NamespacePrefix+s == r.Version {
			return r.Version, true
		}
	}
	return "", false
}

// SessionLoginInfo is the DMCC login carried in StartApplicationSession's
// applicationSpecificInfo (§3.1). SessionCleanupDelay is how many seconds
// the session outlives its socket; SessionID asks to resume that session.
type SessionLoginInfo struct {
	XMLName             struct{} `xml:"http://www.avaya.com/csta SessionLoginInfo"`
	UserName            string   `xml:"userName"`
	Password            string   `xml:"password"`
	SessionCleanupDelay int      `xml:"sessionCleanupDelay,omitempty"`
	SessionID           string   `xml:"sessionID,omitempty"`
}

// MarshalXML writes the login as the DMCC XML Programmer's Guide and the
// open-source f-me/dmcc client do: in Avaya's namespace with the acx
// prefix and typed xsi:type="acx:SessionLoginInfo" (applicationSpecificInfo
// is xsd:anyType in ECMA-354, so AES needs the type to read it).
func (li SessionLoginInfo) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	start := xml.StartElement{Name: xml.Name{Local: "acx:SessionLoginInfo"}, Attr: []xml.Attr{
		{Name: xml.Name{Local: "xmlns:acx"}, Value: Namespace},
		{Name: xml.Name{Local: "xmlns:xsi"}, Value: "http://www.w3.org/2001/XMLSchema-instance"},
		{Name: xml.Name{Local: "xsi:type"}, Value: "acx:SessionLoginInfo"},
	}}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	el := func(name, v string) error {
		return enc.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: "acx:" + name}})
	}
	if err := el("userName", li.UserName); err != nil {
		return err
	}
	if err := el("password", li.Password); err != nil {
		return err
	}
	if li.SessionCleanupDelay > 0 {
		if err := el("sessionCleanupDelay", strconv.Itoa(li.SessionCleanupDelay)); err != nil {
			return err
		}
	}
	if li.SessionID != "" {
		if err := el("sessionID", li.SessionID); err != nil {
			return err
		}
	}
	return enc.EncodeToken(start.End())
}

// LoginInfo is SessionLoginInfo as a reader sees it, whatever namespace or
// prefix the writer used (the simulator accepts both).
type LoginInfo struct {
	UserName            string `xml:"userName"`
	Password            string `xml:"password"`
	SessionCleanupDelay int    `xml:"sessionCleanupDelay"`
	SessionID           string `xml:"sessionID"`
}

// avaya marks messages encoded in Namespace whatever the CSTA namespace.
type avaya struct{}

// Namespace implements csta.Namespacer.
func (avaya) Namespace() string { return Namespace }

// GetDeviceId asks AE Services for the device ID of a station (§3.1):
// "ext:switch:ip:instance", e.g. "4750:CM1:10.0.0.5:0". The ID belongs to
// the session; ReleaseDeviceId frees it.
type GetDeviceId struct {
	avaya
	SwitchName        string `xml:"switchName,omitempty"`
	SwitchIPInterface string `xml:"switchIPInterface,omitempty"`
	Extension         string `xml:"extension"`
	// ControllableByOtherSessions ~ (f-me/dmcc sends true).
	ControllableByOtherSessions bool `xml:"controllableByOtherSessions,omitempty"`
}

// GetDeviceIdResponse carries the device ID.
type GetDeviceIdResponse struct {
	avaya
	Device csta.DeviceID `xml:"device"`
}

// GetThirdPartyDeviceId asks for a call-control-only device ID, e.g. for a
// MakeCall destination (§3.1).
type GetThirdPartyDeviceId struct {
	avaya
	SwitchName string `xml:"switchName,omitempty"`
	Extension  string `xml:"extension"`
}

// GetThirdPartyDeviceIdResponse carries the device ID.
type GetThirdPartyDeviceIdResponse struct {
	avaya
	Device csta.DeviceID `xml:"device"`
}

// ReleaseDeviceId frees a device ID.
type ReleaseDeviceId struct {
	avaya
	Device csta.DeviceID `xml:"device"`
}

// ReleaseDeviceIdResponse is the empty answer to ReleaseDeviceId.
type ReleaseDeviceIdResponse struct{ avaya }

// TransferMonitorObjects moves the monitors of a session that could not be
// resumed to a new one (§3.1, f-me/dmcc). ~ element names.
type TransferMonitorObjects struct {
	avaya
	FromSessionID string `xml:"fromSessionID"`
	ToSessionID   string `xml:"toSessionID"`
}

// TransferMonitorObjectsResponse is the empty answer.
type TransferMonitorObjectsResponse struct{ avaya }

// RootName methods.
func (*GetDeviceId) RootName() string                    { return "GetDeviceId" }
func (*GetDeviceIdResponse) RootName() string            { return "GetDeviceIdResponse" }
func (*GetThirdPartyDeviceId) RootName() string          { return "GetThirdPartyDeviceId" }
func (*GetThirdPartyDeviceIdResponse) RootName() string  { return "GetThirdPartyDeviceIdResponse" }
func (*ReleaseDeviceId) RootName() string                { return "ReleaseDeviceId" }
func (*ReleaseDeviceIdResponse) RootName() string        { return "ReleaseDeviceIdResponse" }
func (*TransferMonitorObjects) RootName() string         { return "TransferMonitorObjects" }
func (*TransferMonitorObjectsResponse) RootName() string { return "TransferMonitorObjectsResponse" }

// ResponseName methods.
func (*GetDeviceId) ResponseName() string            { return "GetDeviceIdResponse" }
func (*GetThirdPartyDeviceId) ResponseName() string  { return "GetThirdPartyDeviceIdResponse" }
func (*ReleaseDeviceId) ResponseName() string        { return "ReleaseDeviceIdResponse" }
func (*TransferMonitorObjects) ResponseName() string { return "TransferMonitorObjectsResponse" }

// Extension returns the extension part of a DMCC device ID
// ("4750:CM1:10.0.0.5:0" → "4750"); anything without a colon is returned
// as is.
func Extension(deviceID string) string {
	ext, _, _ := strings.Cut(strings.TrimSpace(deviceID), ":")
	return ext
}

// Switch returns the switch name part of a DMCC device ID, "" if none.
func Switch(deviceID string) string {
	parts := strings.SplitN(strings.TrimSpace(deviceID), ":", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}

// DeviceID builds "ext:switch:ip:0", the form GetDeviceId answers with.
func DeviceID(ext, switchName, ip string) string { return ext + ":" + switchName + ":" + ip + ":0" }

// Types returns the decoder registry of this package's messages, for
// csta.Decoder.Types.
func Types() map[string]func() csta.Message {
	return map[string]func() csta.Message{
		"GetDeviceId":                    func() csta.Message { return new(GetDeviceId) },
		"GetDeviceIdResponse":            func() csta.Message { return new(GetDeviceIdResponse) },
		"GetThirdPartyDeviceId":          func() csta.Message { return new(GetThirdPartyDeviceId) },
		"GetThirdPartyDeviceIdResponse":  func() csta.Message { return new(GetThirdPartyDeviceIdResponse) },
		"ReleaseDeviceId":                func() csta.Message { return new(ReleaseDeviceId) },
		"ReleaseDeviceIdResponse":        func() csta.Message { return new(ReleaseDeviceIdResponse) },
		"TransferMonitorObjects":         func() csta.Message { return new(TransferMonitorObjects) },
		"TransferMonitorObjectsResponse": func() csta.Message { return new(TransferMonitorObjectsResponse) },
		"GetDoNotDisturb":                func() csta.Message { return new(GetDoNotDisturb) },
		"GetDoNotDisturbResponse":        func() csta.Message { return new(GetDoNotDisturbResponse) },
		"GetForwarding":                  func() csta.Message { return new(GetForwarding) },
		"GetForwardingResponse":          func() csta.Message { return new(GetForwardingResponse) },
		"DoNotDisturbEvent":              func() csta.Message { return new(DoNotDisturbEvent) },
		"ForwardingEvent":                func() csta.Message { return new(ForwardingEvent) },
		"SetAgentState":                  func() csta.Message { return new(SetAgentState) },
		"SetAgentStateResponse":          func() csta.Message { return new(SetAgentStateResponse) },
		"GetAgentState":                  func() csta.Message { return new(GetAgentState) },
		"GetAgentStateResponse":          func() csta.Message { return new(GetAgentStateResponse) },
		"AgentLoggedOnEvent":             func() csta.Message { return &AgentEvent{Name: "AgentLoggedOnEvent"} },
		"AgentLoggedOffEvent":            func() csta.Message { return &AgentEvent{Name: "AgentLoggedOffEvent"} },
		"AgentReadyEvent":                func() csta.Message { return &AgentEvent{Name: "AgentReadyEvent"} },
		"AgentNotReadyEvent":             func() csta.Message { return &AgentEvent{Name: "AgentNotReadyEvent"} },
		"AgentWorkingAfterCallEvent":     func() csta.Message { return &AgentEvent{Name: "AgentWorkingAfterCallEvent"} },
		"AgentBusyEvent":                 func() csta.Message { return &AgentEvent{Name: "AgentBusyEvent"} },
	}
}

// NewDecoder returns a csta.Decoder that knows this package's messages.
func NewDecoder() *csta.Decoder { return &csta.Decoder{Types: Types()} }

// sessionMonitorExtensions is the private data of a session-level
// MonitorStart as the public f-me/dmcc client writes it: Avaya events
// inverted and the device services getDeviceIdList, getMonitorList and
// transferMonitorObjects. Its elements take the request's (CSTA)
// namespace.
const sessionMonitorExtensions = `<privateData><private><AvayaEvents><invertFilter>true</invertFilter>` +
	`<deviceServices><getDeviceIdList>true</getDeviceIdList><getMonitorList>true</getMonitorList>` +
	`<transferMonitorObjects>true</transferMonitorObjects></deviceServices></AvayaEvents></private></privateData>`

// SessionMonitorStart returns the session-level MonitorStart (an empty
// deviceObject with mediaClass notKnown, and the deviceServices private
// data): f-me/dmcc starts it on every new session "to enable
// TransferMonitorObjects", before moving an old session's monitors.
func SessionMonitorStart() *csta.MonitorStart {
	return &csta.MonitorStart{MonitorObject: csta.MonitorObject{DeviceObject: &csta.DeviceID{MediaClass: "notKnown"}},
		Extensions: &csta.RawXML{Inner: []byte(sessionMonitorExtensions)}}
}
