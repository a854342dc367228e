package cstaxml

import (
	"encoding/xml"
	"fmt"
	"strings"
)

// Namespaces (ECMA-323 §5 "namespace" per edition; ECMA-354 §7).
const (
	// CSTAPrefix is what every ECMA-323 edition's namespace starts with;
	// the edition follows ("ed3", "ed5"), and AE Services appends its
	// private version ("ed3/priv7").
	CSTAPrefix = "http://www.ecma-international.org/standards/ecma-323/csta/"
	// Ed3 and Ed5 are the editions the simulated switches speak.
	Ed3 = CSTAPrefix + "ed3"
	Ed5 = CSTAPrefix + "ed5"
	// SessionNamespace is ECMA-354's application session namespace.
	SessionNamespace = "http://www.ecma-international.org/standards/ecma-354/appl_session"
	// XSINamespace is XML Schema instance (xsi:type).
	XSINamespace = "http://www.w3.org/2001/XMLSchema-instance"
)

// IsCSTANamespace reports whether ns is an ECMA-323 namespace: the
// prefix, "ed" and the edition number, optionally a private suffix.
func IsCSTANamespace(ns string) bool {
	rest, ok := strings.CutPrefix(ns, CSTAPrefix+"ed")
	if !ok || rest == "" || rest[0] < '1' || rest[0] > '9' {
		return false
	}
	ed, priv, _ := strings.Cut(rest, "/")
	return strings.Trim(ed, "0123456789") == "" && (priv == "" || strings.HasPrefix(priv, "priv"))
}

// DeviceID is ECMA-323 DeviceID: the device as text, with optional
// attributes (typeOfNumber, mediaClass and bitRate in device-identifiers.xsd).
type DeviceID struct {
	Value        string `xml:",chardata"`
	TypeOfNumber string `xml:"typeOfNumber,attr,omitempty"`
	MediaClass   string `xml:"mediaClass,attr,omitempty"`
	BitRate      string `xml:"bitRate,attr,omitempty"`
}

// Device is a DeviceID holding just id.
func Device(id string) DeviceID { return DeviceID{Value: id} }

// ConnectionID is ECMA-323 ConnectionID: <callID> then <deviceID>
// (call-connection-identifiers.xsd, a sequence of two optional elements).
type ConnectionID struct {
	CallID   string    `xml:"callID,omitempty"`
	DeviceID *DeviceID `xml:"deviceID,omitempty"`
}

// Conn is callID's connection at dev.
func Conn(callID, dev string) ConnectionID {
	return ConnectionID{CallID: callID, DeviceID: &DeviceID{Value: dev}}
}

// Device is the connection's device, "" if absent.
func (c ConnectionID) Device() string {
	if c.DeviceID == nil {
		return ""
	}
	return strings.TrimSpace(c.DeviceID.Value)
}

// Empty is an element without content (<notKnown/>).
type Empty struct{}

// Party is the device of an event field (SubjectDeviceID, CallingDeviceID,
// CalledDeviceID, RedirectionDeviceID in device-identifiers.xsd): a choice
// of <deviceIdentifier> or a marker.
type Party struct {
	DeviceIdentifier *DeviceID `xml:"deviceIdentifier,omitempty"`
	NotKnown         *Empty    `xml:"notKnown,omitempty"`
	NotRequired      *Empty    `xml:"notRequired,omitempty"`
	NotSpecified     *Empty    `xml:"notSpecified,omitempty"`
	Restricted       *Empty    `xml:"restricted,omitempty"`
}

// KnownParty is a Party naming id.
func KnownParty(id string) *Party { return &Party{DeviceIdentifier: &DeviceID{Value: id}} }

// NotRequiredParty is <notRequired/>.
func NotRequiredParty() *Party { return &Party{NotRequired: &Empty{}} }

// NotKnownParty is <notKnown/>.
func NotKnownParty() *Party { return &Party{NotKnown: &Empty{}} }

// ConnectionListItem is one entry of ECMA-323 ConnectionList:
// newConnection, oldConnection, endpoint, associatedNID, userData,
// mediaServiceInfoList (only the first three are written).
type ConnectionListItem struct {
	NewConnection *ConnectionID `xml:"newConnection,omitempty"`
	OldConnection *ConnectionID `xml:"oldConnection,omitempty"`
	Endpoint      *Endpoint     `xml:"endpoint,omitempty"`
}

// Endpoint is a connection list item's endpoint: a choice of deviceID or
// notKnown.
type Endpoint struct {
	DeviceID *DeviceID `xml:"deviceID,omitempty"`
	NotKnown *Empty    `xml:"notKnown,omitempty"`
}

// ConnectionList is ECMA-323 ConnectionList.
type ConnectionList struct {
	Items []ConnectionListItem `xml:"connectionListItem"`
}

// Raw is content kept as it was written: the vendor carriers
// (extensions, applicationSpecificInfo, monitor filters). It is not
// checked against this package's structures.
type Raw struct {
	Inner []byte `xml:",innerxml"`
}

// ErrorCode is ECMA-323 CSTAErrorCode (error-definition.xsd): one child
// element naming the category, whose text is the value.
type ErrorCode struct {
	Category string
	Value    string
}

// Error categories, spelled as in error-definition.xsd (the standard's
// misspelling of systemResourceAvailibility included).
const (
	CategoryOperation                  = "operation"
	CategorySecurity                   = "security"
	CategoryStateIncompatibility       = "stateIncompatibility"
	CategorySystemResourceAvailability = "systemResourceAvailibility"
	CategoryUnspecified                = "unspecified"
)

// RootName implements Message.
func (*ErrorCode) RootName() string { return "CSTAErrorCode" }

func (e *ErrorCode) Error() string { return "cstaxml: CSTAErrorCode " + e.Category + "/" + e.Value }

// MarshalXML writes <category>value</category>.
func (e *ErrorCode) MarshalXML(enc *xml.Encoder, start xml.StartElement) error {
	cat := e.Category
	if cat == "" {
		cat = CategoryUnspecified
	}
	return enc.EncodeElement(struct {
		V string `xml:",innerxml"`
	}{"<" + cat + ">" + xmlText(e.Value) + "</" + cat + ">"}, start)
}

// UnmarshalXML reads the category element and its text.
func (e *ErrorCode) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var v struct {
		Any []struct {
			XMLName xml.Name
			Text    string `xml:",chardata"`
		} `xml:",any"`
	}
	if err := d.DecodeElement(&v, &start); err != nil {
		return err
	}
	if len(v.Any) != 1 {
		return fmt.Errorf("%w: CSTAErrorCode has %d categories", ErrStructure, len(v.Any))
	}
	e.Category, e.Value = v.Any[0].XMLName.Local, strings.TrimSpace(v.Any[0].Text)
	return nil
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
