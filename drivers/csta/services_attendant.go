package csta

// The attendant services of ECMA-269 (call control, §17.1) beyond the
// basic ones: pickup from a named group and the three treatments of a call
// to a busy device (camp on, call back, intrude). Element names and order
// follow the ECMA-269 parameter lists as ECMA-285 (the ASN.1 of ECMA-269)
// gives them (~: the ECMA-323 XSD was not in reach; ECMA-323 takes its
// element names from the same parameter names):
//
//	GroupPickupCallArgument ::= { newDestination, pickGroup OPTIONAL, ... }
//	GroupPickupCallResult   ::= { pickedCall OPTIONAL, ... }
//	CamponCallArgument      ::= { camponConnection, ... }
//	IntrudeCallArgument     ::= { intrude, participationType DEFAULT active, ... }
//	IntrudeCallResult       ::= { conferencedCall OPTIONAL, ... }
//
// CallBackCallRelated's argument is the connection to the busy device
// (callBackConnection ~).

// GroupPickupCall (ECMA-269 §17.1.14) moves a call alerting in a pickup
// group to NewDestination; PickGroup names the group (absent: the one
// NewDestination belongs to).
type GroupPickupCall struct {
	NewDestination DeviceID  `xml:"newDestination"`
	PickGroup      *DeviceID `xml:"pickGroup,omitempty"`
	Extensions     *RawXML   `xml:"extensions,omitempty"`
}

// GroupPickupCallResponse names NewDestination's connection in the picked
// call, when the switch says.
type GroupPickupCallResponse struct {
	PickedCall *ConnectionID `xml:"pickedCall,omitempty"`
	Extensions *RawXML       `xml:"extensions,omitempty"`
}

// CampOnCall (ECMA-269 §17.1.6) queues the call of CamponConnection (the
// caller's connection to a busy device) at the busy device.
type CampOnCall struct {
	CamponConnection ConnectionID `xml:"camponConnection"`
	Extensions       *RawXML      `xml:"extensions,omitempty"`
}

// CampOnCallResponse is the empty positive response to CampOnCall.
type CampOnCallResponse struct {
	Extensions *RawXML `xml:"extensions,omitempty"`
}

// CallBackCallRelated (ECMA-269 §17.1.4) asks the switch to call the
// caller of CallBackConnection back when the busy device is free.
type CallBackCallRelated struct {
	CallBackConnection ConnectionID `xml:"callBackConnection"`
	Extensions         *RawXML      `xml:"extensions,omitempty"`
}

// CallBackCallRelatedResponse is the empty positive response.
type CallBackCallRelatedResponse struct {
	Extensions *RawXML `xml:"extensions,omitempty"`
}

// IntrudeCall (ECMA-269 §17.1.16) adds the caller of Intrude (its
// connection to a busy device) to the busy device's call.
// ParticipationType is "active" (default) or "silent".
type IntrudeCall struct {
	Intrude           ConnectionID `xml:"intrude"`
	ParticipationType string       `xml:"participationType,omitempty"`
	Extensions        *RawXML      `xml:"extensions,omitempty"`
}

// IntrudeCallResponse names the intruding device's connection in the
// joined call, when the switch says.
type IntrudeCallResponse struct {
	ConferencedCall *ConnectionID `xml:"conferencedCall,omitempty"`
	Extensions      *RawXML       `xml:"extensions,omitempty"`
}

// RootName implements Message.
func (*GroupPickupCall) RootName() string { return "GroupPickupCall" }

// RootName implements Message.
func (*GroupPickupCallResponse) RootName() string { return "GroupPickupCallResponse" }

// ResponseName implements Request.
func (*GroupPickupCall) ResponseName() string { return "GroupPickupCallResponse" }

// RootName implements Message.
func (*CampOnCall) RootName() string { return "CampOnCall" }

// RootName implements Message.
func (*CampOnCallResponse) RootName() string { return "CampOnCallResponse" }

// ResponseName implements Request.
func (*CampOnCall) ResponseName() string { return "CampOnCallResponse" }

// RootName implements Message.
func (*CallBackCallRelated) RootName() string { return "CallBackCallRelated" }

// RootName implements Message.
func (*CallBackCallRelatedResponse) RootName() string { return "CallBackCallRelatedResponse" }

// ResponseName implements Request.
func (*CallBackCallRelated) ResponseName() string { return "CallBackCallRelatedResponse" }

// RootName implements Message.
func (*IntrudeCall) RootName() string { return "IntrudeCall" }

// RootName implements Message.
func (*IntrudeCallResponse) RootName() string { return "IntrudeCallResponse" }

// ResponseName implements Request.
func (*IntrudeCall) ResponseName() string { return "IntrudeCallResponse" }

func init() {
	for name, mk := range map[string]func() Message{
		"GroupPickupCall":             func() Message { return new(GroupPickupCall) },
		"GroupPickupCallResponse":     func() Message { return new(GroupPickupCallResponse) },
		"CampOnCall":                  func() Message { return new(CampOnCall) },
		"CampOnCallResponse":          func() Message { return new(CampOnCallResponse) },
		"CallBackCallRelated":         func() Message { return new(CallBackCallRelated) },
		"CallBackCallRelatedResponse": func() Message { return new(CallBackCallRelatedResponse) },
		"IntrudeCall":                 func() Message { return new(IntrudeCall) },
		"IntrudeCallResponse":         func() Message { return new(IntrudeCallResponse) },
	} {
		registry[name] = mk
	}
}

// Interface guards.
var (
	_ Request = (*GroupPickupCall)(nil)
	_ Request = (*CampOnCall)(nil)
	_ Request = (*CallBackCallRelated)(nil)
	_ Request = (*IntrudeCall)(nil)
)
