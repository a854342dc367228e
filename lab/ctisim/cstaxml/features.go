package cstaxml

import "reflect"

// The attendant services of ECMA-269 §17.1 the simulators answer, written
// for the simulators from the ECMA-269 parameter lists (ECMA-285 ASN.1
// names: GroupPickupCallArgument {newDestination, pickGroup},
// GroupPickupCallResult {pickedCall}, CamponCallArgument
// {camponConnection}, IntrudeCallArgument {intrude, participationType},
// IntrudeCallResult {conferencedCall}; CallBackCallRelated
// {callBackConnection} ~), independent of drivers/csta.

// GroupPickupCall (call-control ~).
type GroupPickupCall struct {
	NewDestination DeviceID  `xml:"newDestination"`
	PickGroup      *DeviceID `xml:"pickGroup,omitempty"`
	CorrelatorData string    `xml:"correlatorData,omitempty"`
	UserData       *Raw      `xml:"userData,omitempty"`
	Extensions     *Raw      `xml:"extensions,omitempty"`
}

// GroupPickupCallResponse (call-control ~).
type GroupPickupCallResponse struct {
	PickedCall *ConnectionID `xml:"pickedCall,omitempty"`
	Extensions *Raw          `xml:"extensions,omitempty"`
}

// CampOnCall (call-control ~).
type CampOnCall struct {
	CamponConnection ConnectionID `xml:"camponConnection"`
	Extensions       *Raw         `xml:"extensions,omitempty"`
}

// CampOnCallResponse (call-control ~).
type CampOnCallResponse struct {
	Extensions *Raw `xml:"extensions,omitempty"`
}

// CallBackCallRelated (call-control ~).
type CallBackCallRelated struct {
	CallBackConnection ConnectionID `xml:"callBackConnection"`
	Extensions         *Raw         `xml:"extensions,omitempty"`
}

// CallBackCallRelatedResponse (call-control ~).
type CallBackCallRelatedResponse struct {
	Extensions *Raw `xml:"extensions,omitempty"`
}

// IntrudeCall (call-control ~).
type IntrudeCall struct {
	Intrude           ConnectionID `xml:"intrude"`
	ParticipationType string       `xml:"participationType,omitempty" enum:"active silent"`
	UserData          *Raw         `xml:"userData,omitempty"`
	Extensions        *Raw         `xml:"extensions,omitempty"`
}

// IntrudeCallResponse (call-control ~).
type IntrudeCallResponse struct {
	ConferencedCall *ConnectionID `xml:"conferencedCall,omitempty"`
	Extensions      *Raw          `xml:"extensions,omitempty"`
}

func init() {
	for _, m := range []Message{&GroupPickupCall{}, &GroupPickupCallResponse{}, &CampOnCall{}, &CampOnCallResponse{},
		&CallBackCallRelated{}, &CallBackCallRelatedResponse{}, &IntrudeCall{}, &IntrudeCallResponse{}} {
		register(m)
	}
}

// register adds m to the messages the zero Decoder knows.
func register(m Message) {
	t := reflect.TypeOf(m).Elem()
	standard[Name(m)] = func() Message { return reflect.New(t).Interface() }
}
