package csta

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
)

// DeviceID is an ECMA-323 DeviceID: the text is the device (an extension,
// "N<123!98>" on Mitel 400, "4750:CM1:10.0.0.5:0" on Avaya DMCC) and the
// optional attributes are kept as sent.
type DeviceID struct {
	Value        string `xml:",chardata"`
	TypeOfNumber string `xml:"typeOfNumber,attr,omitempty"`
	MediaClass   string `xml:"mediaClass,attr,omitempty"`
	BitRate      string `xml:"bitRate,attr,omitempty"`
}

// Device returns a DeviceID with just a value.
func Device(id string) DeviceID { return DeviceID{Value: id} }

// String returns the device value.
func (d DeviceID) String() string { return d.Value }

// ConnectionID names one device's connection to one call: ECMA-323
// <callID> plus <deviceID>. Either part may be absent.
// ~ ECMA-323 also allows <deviceID> to hold <staticID>/<dynamicID>; no
// switch in scope sends that, and it is not modelled.
type ConnectionID struct {
	CallID   string    `xml:"callID,omitempty"`
	DeviceID *DeviceID `xml:"deviceID,omitempty"`
}

// Conn returns a ConnectionID for callID at device.
func Conn(callID, device string) ConnectionID {
	return ConnectionID{CallID: callID, DeviceID: &DeviceID{Value: device}}
}

// Device returns the device part, or "".
func (c ConnectionID) Device() string {
	if c.DeviceID == nil {
		return ""
	}
	return c.DeviceID.Value
}

// String returns "callID@device".
func (c ConnectionID) String() string { return c.CallID + "@" + c.Device() }

// Empty is an element with no content, such as <notKnown/>.
type Empty struct{}

// Party is a device field of an event (callingDevice, alertingDevice,
// lastRedirectionDevice...): a <deviceIdentifier>, or a marker saying the
// switch does not know or need to say who it is.
type Party struct {
	DeviceIdentifier *DeviceID `xml:"deviceIdentifier,omitempty"`
	NotKnown         *Empty    `xml:"notKnown,omitempty"`
	NotRequired      *Empty    `xml:"notRequired,omitempty"`
	Restricted       *Empty    `xml:"restricted,omitempty"` // ~ ECMA-269 "restricted" (presentation)
}

// KnownParty returns a Party holding a device identifier.
func KnownParty(id string) *Party { return &Party{DeviceIdentifier: &DeviceID{Value: id}} }

// UnknownParty returns a Party holding <notKnown/>.
func UnknownParty() *Party { return &Party{NotKnown: &Empty{}} }

// NotRequiredParty returns a Party holding <notRequired/>.
func NotRequiredParty() *Party { return &Party{NotRequired: &Empty{}} }

// ID returns the device identifier, or "" when the party is not known.
// It is safe on a nil Party.
func (p *Party) ID() string {
	if p == nil || p.DeviceIdentifier == nil {
		return ""
	}
	return p.DeviceIdentifier.Value
}

// Known reports whether the party carries a device identifier.
func (p *Party) Known() bool { return p != nil && p.DeviceIdentifier != nil }

// ConnectionListItem is one entry of a connection list
// (transferredConnections, conferenceConnections): the connection after the
// operation, the one before it, and the endpoint device. ~ element names
// newConnection/oldConnection/endpoint per ECMA-323 ConnectionList.
type ConnectionListItem struct {
	NewConnection *ConnectionID `xml:"newConnection,omitempty"`
	OldConnection *ConnectionID `xml:"oldConnection,omitempty"`
	Endpoint      *DeviceID     `xml:"endpoint>deviceID,omitempty"`
}

// ConnectionList is a list of ConnectionListItem.
type ConnectionList struct {
	Items []ConnectionListItem `xml:"connectionListItem"`
}

// RawXML holds XML content kept as bytes: vendor private data in
// <extensions>, filters, and the vendor login inside
// <applicationSpecificInfo>. On encode the bytes are written unchanged, so
// they must be well-formed and declare their own namespaces.
type RawXML struct {
	Inner []byte `xml:",innerxml"`
}

// Find returns the text of the first element named local (any
// namespace) inside the raw XML, trimmed; "" when there is none or the
// XML is broken. Vendors put ids in their private data (Avaya's UCID in
// globallyUniqueCallLinkageID); Find reads them without a schema for
// every private type. It is safe on a nil RawXML.
func (r *RawXML) Find(local string) string {
	if r == nil || len(r.Inner) == 0 {
		return ""
	}
	dec := xml.NewDecoder(bytes.NewReader(r.Inner))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if st, ok := tok.(xml.StartElement); ok && st.Name.Local == local {
			var v struct {
				S string `xml:",chardata"`
			}
			if dec.DecodeElement(&v, &st) != nil {
				return ""
			}
			return strings.TrimSpace(v.S)
		}
	}
}

// NewRawXML marshals v (a struct with its own XMLName and namespace, such as
// Avaya's SessionLoginInfo) into a RawXML.
func NewRawXML(v any) (*RawXML, error) {
	b, err := xml.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &RawXML{Inner: b}, nil
}

// CSTAErrorCode is the negative response to any CSTA service: one child
// element whose name is the error category (operation, security,
// stateIncompatibility, systemResourceAvailibility [sic], ...) holding the
// value (invalidDeviceID, overallMonitorLimitExceeded, ...). It is also the
// error Client.Call returns for it; errors.Is(err, ErrCSTA) holds.
type CSTAErrorCode struct {
	Category string
	Value    string
}

// Error categories of ECMA-269 §9.3, spelled as on the wire.
const (
	CategoryOperation                      = "operation"
	CategorySecurity                       = "security"
	CategoryStateIncompatibility           = "stateIncompatibility"
	CategorySystemResourceAvailability     = "systemResourceAvailibility" // sic, as in the standard
	CategorySubscribedResourceAvailability = "subscribedResourceAvailability"
	CategoryPerformanceManagement          = "performanceManagement"
	CategoryPrivateData                    = "privateData"
	CategoryUnspecified                    = "unspecified"
)

// RootName implements Message.
func (*CSTAErrorCode) RootName() string { return "CSTAErrorCode" }

// Error implements error.
func (e *CSTAErrorCode) Error() string {
	return fmt.Sprintf("csta: switch error %s/%s", e.Category, e.Value)
}

// Is makes errors.Is(err, ErrCSTA) true.
func (e *CSTAErrorCode) Is(target error) bool { return target == ErrCSTA }

// MarshalXML writes <category>value</category> inside start.
func (e *CSTAErrorCode) MarshalXML(enc *xml.Encoder, start xml.StartElement) error {
	cat := e.Category
	if cat == "" {
		cat = CategoryUnspecified
	}
	inner := struct {
		V string `xml:",chardata"`
	}{e.Value}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	if err := enc.EncodeElement(inner, xml.StartElement{Name: xml.Name{Local: cat}}); err != nil {
		return err
	}
	return enc.EncodeToken(start.End())
}

// UnmarshalXML reads the first child element as the category and its text
// as the value. Further children are ignored; no child at all gives
// CategoryUnspecified.
func (e *CSTAErrorCode) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	depth, done := 0, false
	var val strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 && e.Category == "" && !done {
				e.Category = t.Name.Local
			}
		case xml.EndElement:
			if depth == 0 {
				e.Value = strings.TrimSpace(val.String())
				if e.Category == "" {
					e.Category = CategoryUnspecified
				}
				return nil
			}
			depth--
			done = true
		case xml.CharData:
			if depth == 1 && !done && val.Len() < 1024 {
				val.Write(t)
			}
		}
	}
}
