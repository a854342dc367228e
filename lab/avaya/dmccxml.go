package avaya

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

// The simulator's own DMCC XML, written from Avaya's "DMCC XML
// Programmer's Guide" (AE Services 6.x-8.x) and the requests of the
// open-source f-me/dmcc client, not from drivers/avaya/dmcc: the private
// messages in Avaya's namespace, the login in StartApplicationSession, the
// DMCC device IDs and the ECMA-323 agent services DMCC offers.

// avayaNS is Avaya's private namespace (the "acx" prefix in the guide).
const avayaNS = "http://www.avaya.com/csta"

// releases are the protocol versions AE Services answers, newest first
// (DMCC XML Programmer's Guide, "Protocol versions"; f-me/dmcc names
// priv5-priv7 for AES 6.1-6.3).
var releases = []string{
	cstaxml.CSTAPrefix + "ed3/privC", cstaxml.CSTAPrefix + "ed3/privA",
	cstaxml.CSTAPrefix + "ed3/priv9", cstaxml.CSTAPrefix + "ed3/priv8",
	cstaxml.CSTAPrefix + "ed3/priv7", cstaxml.CSTAPrefix + "ed3/priv6",
	cstaxml.CSTAPrefix + "ed3/priv5", cstaxml.CSTAPrefix + "ed3/priv4",
	cstaxml.CSTAPrefix + "ed3/priv3", cstaxml.CSTAPrefix + "ed3/priv2",
	cstaxml.CSTAPrefix + "ed3/priv1", cstaxml.CSTAPrefix + "ed2/priv1", "3.0",
}

type private struct{}

func (private) Namespace() string { return avayaNS }

// getDeviceID is GetDeviceId: switchName, switchIPInterface, extension,
// instance, controllableByOtherSessions.
type getDeviceID struct {
	private
	SwitchName                  string `xml:"switchName,omitempty"`
	SwitchIPInterface           string `xml:"switchIPInterface,omitempty"`
	Extension                   string `xml:"extension"`
	Instance                    int    `xml:"instance,omitempty"`
	ControllableByOtherSessions bool   `xml:"controllableByOtherSessions,omitempty"`
}

func (*getDeviceID) RootName() string { return "GetDeviceId" }

type deviceResponse struct {
	private
	root   string
	Device cstaxml.DeviceID `xml:"device"`
}

func (r *deviceResponse) RootName() string { return r.root }

// getThirdPartyDeviceID is GetThirdPartyDeviceId: switchName, extension.
type getThirdPartyDeviceID struct {
	private
	SwitchName string `xml:"switchName,omitempty"`
	Extension  string `xml:"extension"`
}

func (*getThirdPartyDeviceID) RootName() string { return "GetThirdPartyDeviceId" }

// releaseDeviceID is ReleaseDeviceId: device.
type releaseDeviceID struct {
	private
	Device cstaxml.DeviceID `xml:"device"`
}

func (*releaseDeviceID) RootName() string { return "ReleaseDeviceId" }

// transferMonitorObjects is TransferMonitorObjects: fromSessionID,
// toSessionID.
type transferMonitorObjects struct {
	private
	FromSessionID string `xml:"fromSessionID"`
	ToSessionID   string `xml:"toSessionID"`
}

func (*transferMonitorObjects) RootName() string { return "TransferMonitorObjects" }

// emptyResponse is an Avaya response without content.
type emptyResponse struct {
	private
	root string
}

func (r *emptyResponse) RootName() string { return r.root }

// Agent states (ECMA-323 AgentState, SetAgentState's requestedAgentState).
const (
	agentLoggedOn         = "loggedOn"
	agentLoggedOff        = "loggedOff"
	agentReady            = "ready"
	agentNotReady         = "notReady"
	agentWorkingAfterCall = "workingAfterCall"
)

// setAgentState is ECMA-323 SetAgentState: device, requestedAgentState,
// agentID, password, group, extensions.
type setAgentState struct {
	Device              cstaxml.DeviceID `xml:"device"`
	RequestedAgentState string           `xml:"requestedAgentState" enum:"loggedOn loggedOff notReady ready workingAfterCall"`
	AgentID             string           `xml:"agentID,omitempty"`
	Password            string           `xml:"password,omitempty"`
	Group               string           `xml:"group,omitempty"`
	Extensions          *cstaxml.Raw     `xml:"extensions,omitempty"`
}

func (*setAgentState) RootName() string { return "SetAgentState" }

type setAgentStateResponse struct {
	Extensions *cstaxml.Raw `xml:"extensions,omitempty"`
}

func (*setAgentStateResponse) RootName() string { return "SetAgentStateResponse" }

// getAgentState is ECMA-323 GetAgentState: device, extensions (f-me/dmcc
// sends device only).
type getAgentState struct {
	Device     cstaxml.DeviceID `xml:"device"`
	Extensions *cstaxml.Raw     `xml:"extensions,omitempty"`
}

func (*getAgentState) RootName() string { return "GetAgentState" }

// getAgentStateResponse is ECMA-323 (edition 3) GetAgentStateResponse:
// agentStateList of agentStateEntry (agentID, loggedOnState, agentInfo of
// agentInfoItem with acdGroup and agentState).
type getAgentStateResponse struct {
	Entries    []agentStateEntry `xml:"agentStateList>agentStateEntry"`
	Extensions *cstaxml.Raw      `xml:"extensions,omitempty"`
}

type agentStateEntry struct {
	AgentID       string          `xml:"agentID,omitempty"`
	LoggedOnState bool            `xml:"loggedOnState"`
	Info          []agentInfoItem `xml:"agentInfo>agentInfoItem"`
}

type agentInfoItem struct {
	ACDGroup   string `xml:"acdGroup,omitempty"`
	AgentState string `xml:"agentState" enum:"agentNotReady agentNull agentReady agentBusy agentWorkingAfterCall"`
}

func (*getAgentStateResponse) RootName() string { return "GetAgentStateResponse" }

// agentEvent is one of ECMA-323's agent state events: monitorCrossRefID,
// agentDevice, agentID.
type agentEvent struct {
	name              string
	MonitorCrossRefID string           `xml:"monitorCrossRefID"`
	AgentDevice       cstaxml.DeviceID `xml:"agentDevice"`
	AgentID           string           `xml:"agentID,omitempty"`
}

func (e *agentEvent) RootName() string { return e.name }

func agentEventName(state string) string {
	switch state {
	case agentLoggedOn:
		return "AgentLoggedOnEvent"
	case agentLoggedOff:
		return "AgentLoggedOffEvent"
	case agentReady:
		return "AgentReadyEvent"
	case agentNotReady:
		return "AgentNotReadyEvent"
	case agentWorkingAfterCall:
		return "AgentWorkingAfterCallEvent"
	}
	return ""
}

var vendor = map[string]func() cstaxml.Message{
	"GetDeviceId":                    func() cstaxml.Message { return &getDeviceID{} },
	"GetDeviceIdResponse":            func() cstaxml.Message { return &deviceResponse{root: "GetDeviceIdResponse"} },
	"GetThirdPartyDeviceId":          func() cstaxml.Message { return &getThirdPartyDeviceID{} },
	"GetThirdPartyDeviceIdResponse":  func() cstaxml.Message { return &deviceResponse{root: "GetThirdPartyDeviceIdResponse"} },
	"ReleaseDeviceId":                func() cstaxml.Message { return &releaseDeviceID{} },
	"ReleaseDeviceIdResponse":        func() cstaxml.Message { return &emptyResponse{root: "ReleaseDeviceIdResponse"} },
	"TransferMonitorObjects":         func() cstaxml.Message { return &transferMonitorObjects{} },
	"TransferMonitorObjectsResponse": func() cstaxml.Message { return &emptyResponse{root: "TransferMonitorObjectsResponse"} },
	"SetAgentState":                  func() cstaxml.Message { return &setAgentState{} },
	"SetAgentStateResponse":          func() cstaxml.Message { return &setAgentStateResponse{} },
	"GetAgentState":                  func() cstaxml.Message { return &getAgentState{} },
	"GetAgentStateResponse":          func() cstaxml.Message { return &getAgentStateResponse{} },
}

func init() {
	for _, st := range []string{agentLoggedOn, agentLoggedOff, agentReady, agentNotReady, agentWorkingAfterCall} {
		name := agentEventName(st)
		vendor[name] = func() cstaxml.Message { return &agentEvent{name: name} }
	}
}

// loginInfo is DMCC's SessionLoginInfo as the guide shows it: in Avaya's
// namespace, typed with xsi:type="acx:SessionLoginInfo", holding userName,
// password, sessionCleanupDelay and (to resume) sessionID, in that order.
type loginInfo struct {
	UserName            string `xml:"http://www.avaya.com/csta userName"`
	Password            string `xml:"http://www.avaya.com/csta password"`
	SessionCleanupDelay int    `xml:"http://www.avaya.com/csta sessionCleanupDelay,omitempty"`
	SessionID           string `xml:"http://www.avaya.com/csta sessionID,omitempty"`
}

// startRequest is StartApplicationSession with its login as the
// simulator read it (or why it could not).
type startRequest struct {
	*cstaxml.StartApplicationSession
	login    loginInfo
	loginErr error
}

var errLogin = errors.New("avaya sim: SessionLoginInfo")

// readLogin finds applicationInfo/applicationSpecificInfo/SessionLoginInfo
// in a StartApplicationSession document and checks it: Avaya's namespace
// and an xsi:type naming acx:SessionLoginInfo (resolved through the
// prefixes in scope), children in the guide's order.
func readLogin(doc []byte) (loginInfo, error) {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var scopes []map[string]string // prefix → namespace, innermost last
	resolve := func(prefix string) string {
		for i := len(scopes) - 1; i >= 0; i-- {
			if ns, ok := scopes[i][prefix]; ok {
				return ns
			}
		}
		return ""
	}
	var path []string
	for {
		tok, err := dec.Token()
		if err != nil {
			return loginInfo{}, fmt.Errorf("%w: not found", errLogin)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			path, scopes = path[:len(path)-1], scopes[:len(scopes)-1]
		case xml.StartElement:
			sc := map[string]string{}
			typ := ""
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "xmlns":
					sc[a.Name.Local] = a.Value
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					sc[""] = a.Value
				case a.Name.Space == cstaxml.XSINamespace && a.Name.Local == "type":
					typ = a.Value
				}
			}
			scopes = append(scopes, sc)
			path = append(path, t.Name.Local)
			if strings.Join(path, "/") != "StartApplicationSession/applicationInfo/applicationSpecificInfo/SessionLoginInfo" {
				continue
			}
			if t.Name.Space != avayaNS {
				return loginInfo{}, fmt.Errorf("%w in %q, want %q", errLogin, t.Name.Space, avayaNS)
			}
			prefix, local, ok := strings.Cut(typ, ":")
			if !ok {
				prefix, local = "", typ
			}
			if local != "SessionLoginInfo" || resolve(prefix) != avayaNS {
				return loginInfo{}, fmt.Errorf("%w: xsi:type %q does not name acx:SessionLoginInfo", errLogin, typ)
			}
			var li loginInfo
			if err := dec.DecodeElement(&li, &t); err != nil {
				return loginInfo{}, fmt.Errorf("%w: %v", errLogin, err)
			}
			if li.UserName == "" {
				return loginInfo{}, fmt.Errorf("%w: no userName", errLogin)
			}
			return li, nil
		}
	}
}

// decoder decodes what an application sends: the standard messages, the
// Avaya ones, the login. CSTA requests must use a namespace ns allows
// (see link.namespaces); ns returns nil before a session.
func decoder(ns func() []string) func([]byte) (cstaxml.Message, error) {
	d := &cstaxml.Decoder{Vendor: vendor, CSTANamespaces: ns}
	return func(b []byte) (cstaxml.Message, error) {
		m, err := d.Decode(b)
		if err != nil {
			return nil, err
		}
		if r, ok := m.(*cstaxml.StartApplicationSession); ok {
			li, err := readLogin(b)
			return &startRequest{StartApplicationSession: r, login: li, loginErr: err}, nil
		}
		return m, nil
	}
}

// extension is the extension part of a DMCC device ID
// ("4750:CM1:10.0.0.5:0" → "4750"), the whole string when it has no colon.
func extension(id string) string {
	ext, _, _ := strings.Cut(strings.TrimSpace(id), ":")
	return ext
}

// switchOf is the switch connection name part of a DMCC device ID.
func switchOf(id string) string {
	parts := strings.SplitN(strings.TrimSpace(id), ":", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}

// dmccDeviceID is the device ID GetDeviceId answers with:
// extension:switch:IP:instance.
func dmccDeviceID(ext, sw, ip string) string { return ext + ":" + sw + ":" + ip + ":0" }

// Parse reads one document as the simulator reads what an application
// sends (any ECMA-323 edition; a StartApplicationSession's login must be
// as the guide writes it): for tests that hold the driver's documents and
// public fixtures against the simulator's reading.
func Parse(doc []byte) (cstaxml.Message, error) {
	m, err := decoder(func() []string { return nil })(doc)
	if err != nil {
		return nil, err
	}
	if r, ok := m.(*startRequest); ok && r.loginErr != nil {
		return nil, r.loginErr
	}
	return m, nil
}
