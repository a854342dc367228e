package cstaxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/switchboard-gw/switchboard/lab/ctisim/xmlcheck"
)

// Message is any message of this package or a vendor message registered
// with a [Decoder]. Its root element is named by [Name].
type Message any

// Namespaced is implemented by messages outside the CSTA namespace
// (ECMA-354 sessions, vendor messages): their root's namespace.
type Namespaced interface{ Namespace() string }

// Rooted is implemented by messages whose root element is not their type
// name.
type Rooted interface{ RootName() string }

// Errors of the decoder.
var (
	ErrUnknown   = errors.New("cstaxml: unknown message")
	ErrNamespace = errors.New("cstaxml: wrong namespace")
	ErrStructure = errors.New("cstaxml: document does not follow the schema")
	ErrDoctype   = errors.New("cstaxml: DOCTYPE refused")
)

// Name is m's root element name.
func Name(m Message) string {
	if r, ok := m.(Rooted); ok {
		return r.RootName()
	}
	t := reflect.TypeOf(m)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

var standard = map[string]func() Message{}

func init() {
	for _, m := range []Message{
		&MonitorStart{}, &MonitorStartResponse{}, &MonitorStop{}, &MonitorStopResponse{},
		&MakeCall{}, &MakeCallResponse{}, &AnswerCall{}, &AnswerCallResponse{},
		&ClearConnection{}, &ClearConnectionResponse{}, &HoldCall{}, &HoldCallResponse{},
		&RetrieveCall{}, &RetrieveCallResponse{}, &ConsultationCall{}, &ConsultationCallResponse{},
		&TransferCall{}, &TransferCallResponse{}, &ConferenceCall{}, &ConferenceCallResponse{},
		&SingleStepTransferCall{}, &SingleStepTransferCallResponse{}, &DeflectCall{}, &DeflectCallResponse{},
		&GenerateDigits{}, &GenerateDigitsResponse{},
		&ReconnectCall{}, &ReconnectCallResponse{}, &AlternateCall{}, &AlternateCallResponse{}, &MessageWaitingEvent{},
		&SetDoNotDisturb{}, &SetDoNotDisturbResponse{}, &GetDoNotDisturb{}, &GetDoNotDisturbResponse{},
		&GetMessageWaitingIndicator{}, &GetMessageWaitingIndicatorResponse{},
		&SetForwarding{}, &SetForwardingResponse{}, &GetForwarding{}, &GetForwardingResponse{},
		&SnapshotDevice{}, &SnapshotDeviceResponse{}, &SystemStatus{}, &SystemStatusResponse{},
		&ErrorCode{},
		&ServiceInitiatedEvent{}, &OriginatedEvent{}, &DeliveredEvent{}, &EstablishedEvent{},
		&HeldEvent{}, &RetrievedEvent{}, &ConnectionClearedEvent{}, &TransferedEvent{},
		&ConferencedEvent{}, &DivertedEvent{}, &FailedEvent{}, &DoNotDisturbEvent{}, &ForwardingEvent{},
		&QueuedEvent{}, &CallClearedEvent{}, &NetworkReachedEvent{}, &DigitsDialedEvent{}, &OfferedEvent{},
		&SnapshotDeviceData{},
		&StartApplicationSession{}, &StartApplicationSessionPosResponse{}, &StartApplicationSessionNegResponse{},
		&ResetApplicationSessionTimer{}, &ResetApplicationSessionTimerPosResponse{},
		&ResetApplicationSessionTimerNegResponse{},
		&StopApplicationSession{}, &StopApplicationSessionPosResponse{}, &StopApplicationSessionNegResponse{},
	} {
		t := reflect.TypeOf(m).Elem()
		standard[Name(m)] = func() Message { return reflect.New(t).Interface() }
	}
}

// Decoder decodes documents. The zero value knows the standard messages
// and accepts any ECMA-323 edition.
type Decoder struct {
	// Vendor adds vendor messages by root name; each must implement
	// Namespaced, and a document must use that namespace.
	Vendor map[string]func() Message
	// CSTANamespaces, when set and not empty, are the only namespaces
	// CSTA messages may use (the versions a session allows).
	CSTANamespaces func() []string
}

// Decode decodes one document and checks it against the structures of
// this package (see the package comment).
func (d *Decoder) Decode(b []byte) (Message, error) {
	root, err := rootOf(b)
	if err != nil {
		return nil, err
	}
	mk, vendor := d.Vendor[root.Local]
	if !vendor {
		mk = standard[root.Local]
	}
	if mk == nil {
		return nil, fmt.Errorf("%w: <%s xmlns=%q>", ErrUnknown, root.Local, root.Space)
	}
	m := mk()
	if err := checkNamespace(d, m, root); err != nil {
		return nil, err
	}
	if err := xml.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStructure, err)
	}
	if err := xmlcheck.Check(b, m); err != nil {
		return nil, fmt.Errorf("<%s>: %w: %w", root.Local, ErrStructure, err)
	}
	return m, nil
}

// Decode decodes b with the zero Decoder.
func Decode(b []byte) (Message, error) { return (&Decoder{}).Decode(b) }

func checkNamespace(d *Decoder, m Message, root xml.Name) error {
	if n, ok := m.(Namespaced); ok {
		if root.Space != n.Namespace() {
			return fmt.Errorf("%w: <%s> in %q, want %q", ErrNamespace, root.Local, root.Space, n.Namespace())
		}
		return nil
	}
	if d.CSTANamespaces != nil {
		if want := d.CSTANamespaces(); len(want) > 0 && !slices.Contains(want, root.Space) {
			return fmt.Errorf("%w: <%s> in %q, the session allows %q", ErrNamespace, root.Local, root.Space, want)
		}
	}
	if !IsCSTANamespace(root.Space) {
		return fmt.Errorf("%w: <%s> in %q, not an ECMA-323 namespace", ErrNamespace, root.Local, root.Space)
	}
	return nil
}

// rootOf returns the root element's name, refusing DOCTYPEs.
func rootOf(b []byte) (xml.Name, error) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := dec.Token()
		if err != nil {
			return xml.Name{}, fmt.Errorf("%w: %v", ErrStructure, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return xml.Name{}, ErrDoctype
		case xml.StartElement:
			return t.Name, nil
		}
	}
}

// Marshal writes m with its root in ns (or its own namespace when m is
// Namespaced), after an XML declaration.
func Marshal(m Message, ns string) ([]byte, error) {
	if n, ok := m.(Namespaced); ok {
		ns = n.Namespace()
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header[:len(xml.Header)-1])
	enc := xml.NewEncoder(&buf)
	start := xml.StartElement{Name: xml.Name{Local: Name(m)}}
	if ns != "" {
		start.Attr = []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: ns}}
	}
	if err := enc.EncodeElement(m, start); err != nil {
		return nil, fmt.Errorf("cstaxml: marshal %s: %w", Name(m), err)
	}
	return buf.Bytes(), nil
}
