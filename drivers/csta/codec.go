package csta

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Decoder limits.
const (
	// DefaultMaxSize is the largest document Decode accepts: what fits in
	// one 8-byte-header frame.
	DefaultMaxSize = DefaultMaxFrameSize - HeaderSize
	// DefaultMaxDepth is the deepest element nesting Decode accepts. Real
	// CSTA messages nest fewer than 10 levels.
	DefaultMaxDepth = 32
)

// Decoder turns XML documents into messages. The zero value uses the
// defaults; a Decoder is safe for concurrent use.
type Decoder struct {
	// MaxSize is the largest document accepted, in bytes.
	// Default: DefaultMaxSize.
	MaxSize int
	// MaxDepth is the deepest element nesting accepted.
	// Default: DefaultMaxDepth.
	MaxDepth int
	// Types adds message types by root local name, for vendor messages
	// such as Avaya's GetDeviceIdResponse. They are looked up before the
	// built-in ones. Default: none.
	Types map[string]func() Message
}

// Namespacer is implemented by messages that are always encoded in their
// own namespace, such as vendor messages a driver defines (Avaya's
// GetDeviceId in "http://www.avaya.com/csta"). Marshal uses it instead of
// the CSTA namespace.
type Namespacer interface {
	Namespace() string
}

// Decode decodes one document with the default limits. See Decoder.Decode.
func Decode(data []byte) (Message, error) { return (&Decoder{}).Decode(data) }

// Decode parses data and returns the typed message for its root element,
// chosen by local name whatever the namespace or prefix: *DeliveredEvent
// for <DeliveredEvent>, *CSTAErrorCode for <CSTAErrorCode>. An unknown root
// gives *RawMessage. Errors wrap ErrFrameTooLarge, ErrInvalidUTF8,
// ErrDoctype, ErrTooDeep, ErrNoRoot or ErrMalformed.
//
// The document is checked in a first pass (well-formed, no DOCTYPE, depth,
// one root) before it is unmarshalled, so nothing hostile reaches the typed
// decoding. encoding/xml never expands custom entities; with DOCTYPEs
// refused, entity bombs fail early.
func (d *Decoder) Decode(data []byte) (Message, error) {
	maxSize, maxDepth := d.MaxSize, d.MaxDepth
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("%w: document of %d bytes, limit %d", ErrFrameTooLarge, len(data), maxSize)
	}
	if !utf8.Valid(data) {
		return nil, ErrInvalidUTF8
	}
	root, err := check(data, maxDepth)
	if err != nil {
		return nil, err
	}
	var m Message
	if newMsg, ok := d.Types[root.Local]; ok {
		m = newMsg()
	} else if newMsg, ok := registry[root.Local]; ok {
		m = newMsg()
	} else {
		m = new(RawMessage)
	}
	if err := xml.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("%w: <%s>: %v", ErrMalformed, root.Local, err)
	}
	return m, nil
}

// check makes one strict pass over the document: well-formed, no
// directives, nesting within maxDepth, exactly one root. It returns the
// root element's name.
func check(data []byte, maxDepth int) (xml.Name, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	var root xml.Name
	depth, roots := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return root, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if !validLocalName(t.Name.Local) {
				// encoding/xml lets "<:>", "<a:>" and "<a:0>" through;
				// XML namespaces do not.
				return root, fmt.Errorf("%w: bad element name %q", ErrMalformed, t.Name.Local)
			}
			if depth == 0 {
				roots++
				if roots > 1 {
					return root, fmt.Errorf("%w: more than one root element", ErrMalformed)
				}
				root = t.Name
			}
			depth++
			if depth > maxDepth {
				return root, fmt.Errorf("%w: more than %d levels", ErrTooDeep, maxDepth)
			}
		case xml.EndElement:
			depth--
			if depth < 0 {
				return root, fmt.Errorf("%w: unexpected </%s>", ErrMalformed, t.Name.Local)
			}
		case xml.Directive:
			return root, ErrDoctype
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return root, fmt.Errorf("%w: text outside the root element", ErrMalformed)
			}
		}
	}
	if roots == 0 {
		return root, ErrNoRoot
	}
	if depth != 0 {
		return root, fmt.Errorf("%w: %d unclosed elements", ErrMalformed, depth)
	}
	return root, nil
}

// validLocalName reports whether a local name (the part after any prefix)
// is an XML NCName, as far as encoding/xml has not already checked it: it
// checked the whole qualified name, so only the first character of the
// local part and colons remain.
func validLocalName(s string) bool {
	if s == "" || strings.Contains(s, ":") {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s)
	switch {
	case r == '_' || r < utf8.RuneSelf && unicode.IsLetter(r):
		return true
	case r < utf8.RuneSelf:
		return false
	}
	// Rare: a non-ASCII first character. Let encoding/xml decide.
	return xml.Unmarshal([]byte("<"+s+"/>"), new(struct{})) == nil
}

// Marshal encodes m as an XML document (with an XML declaration) in the
// CSTA namespace ns, e.g. Ed5.Namespace(), or Avaya's negotiated
// ".../csta/ed3/privN". Session messages always use SessionNamespace,
// a Namespacer its own namespace, and *RawMessage keeps its own namespace
// and prefix declarations.
func Marshal(m Message, ns string) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	if r, ok := m.(*RawMessage); ok {
		if err := r.writeTo(&buf); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	switch v := m.(type) {
	case sessionMessage:
		ns = SessionNamespace
	case Namespacer:
		ns = v.Namespace()
	}
	enc := xml.NewEncoder(&buf)
	start := xml.StartElement{Name: xml.Name{Space: ns, Local: m.RootName()}}
	if err := enc.EncodeElement(m, start); err != nil {
		return nil, fmt.Errorf("csta: encode <%s>: %w", m.RootName(), err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// RawMessage is a message this package has no type for: vendor requests
// such as Avaya's GetDeviceId, or events outside the CTI model. Decode
// returns it for unknown roots; drivers may build one to send.
type RawMessage struct {
	// XMLName is the root element; its Space is the namespace it is encoded in.
	XMLName xml.Name
	// Attrs are the root's attributes, namespace declarations included, as
	// decoded.
	Attrs []xml.Attr `xml:",any,attr"`
	// Inner is the content of the root element, unchanged.
	Inner []byte `xml:",innerxml"`
}

// RootName implements Message.
func (r *RawMessage) RootName() string { return r.XMLName.Local }

// Unmarshal decodes the message into v (a vendor struct) with
// encoding/xml, as if v had been the decoder's choice.
func (r *RawMessage) Unmarshal(v any) error {
	var buf bytes.Buffer
	if err := r.writeTo(&buf); err != nil {
		return err
	}
	return xml.Unmarshal(buf.Bytes(), v)
}

// writeTo writes the root start tag by hand so that prefix declarations
// (xmlns:csta="...") the inner content relies on survive, then Inner.
func (r *RawMessage) writeTo(buf *bytes.Buffer) error {
	name := r.XMLName.Local
	if name == "" || strings.ContainsAny(name, " <>&\"'=/:") {
		return fmt.Errorf("%w: bad root name %q", ErrMalformed, name)
	}
	buf.WriteString("<" + name)
	if r.XMLName.Space != "" {
		writeAttr(buf, "xmlns", r.XMLName.Space)
	}
	seen := map[string]bool{"xmlns": r.XMLName.Space != ""}
	for _, a := range r.Attrs {
		var n string
		switch {
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			n = "xmlns"
		case a.Name.Space == "xmlns":
			n = "xmlns:" + a.Name.Local
		case a.Name.Space == "":
			n = a.Name.Local
		default:
			continue // a prefixed attribute whose prefix is lost: drop it
		}
		if seen[n] {
			continue
		}
		seen[n] = true
		writeAttr(buf, n, a.Value)
	}
	buf.WriteByte('>')
	buf.Write(r.Inner)
	buf.WriteString("</" + name + ">")
	return nil
}

func writeAttr(buf *bytes.Buffer, name, value string) {
	buf.WriteString(" " + name + `="`)
	_ = xml.EscapeText(buf, []byte(value)) // bytes.Buffer writes never fail
	buf.WriteByte('"')
}

// isResponse reports whether a root name is a response of any kind.
func isResponse(name string) bool {
	return strings.HasSuffix(name, "Response") || name == "CSTAErrorCode"
}
