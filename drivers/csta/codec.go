package csta

import (
	"bytes"
	"encoding/xml"
	"fmt"
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
// The document's markup is scanned first, byte by byte without
// tokenizing (scan: no DOCTYPE or other directive, nesting within
// MaxDepth, one root, no text outside it, NCName element names), so
// nothing deep or hostile reaches the typed decoding, which is the one
// XML parse (well-formedness, entities, end tags matching). encoding/xml
// never expands custom entities; with DOCTYPEs refused, entity bombs fail
// early. Before, the first pass was a full encoding/xml tokenization:
// 14 % of a driver's CPU in a restore (README, bench-cti).
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
	root, err := scan(data, maxDepth)
	if err != nil {
		return nil, err
	}
	var m Message
	if newMsg, ok := d.Types[root]; ok {
		m = newMsg()
	} else if newMsg, ok := registry[root]; ok {
		m = newMsg()
	} else {
		m = new(RawMessage)
	}
	if err := xml.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("%w: <%s>: %v", ErrMalformed, root, err)
	}
	return m, nil
}

// scan checks the document's markup without tokenizing it: no
// directives (DOCTYPE, ENTITY: only comments, CDATA sections and
// processing instructions start with "<!" or "<?"), nesting within
// maxDepth, exactly one root element, nothing but white space outside
// it, and element names whose local part is an NCName. It returns the
// root's local name. Well-formedness inside the root (names, attributes,
// entities, matching end tags) is the decoding's: scan only finds where
// tags begin and end, skipping quoted attribute values, comments, CDATA
// and processing instructions so that no "<" in them is taken for a tag.
func scan(data []byte, maxDepth int) (string, error) {
	var root string
	depth, roots := 0, 0
	for i := 0; i < len(data); {
		c := data[i]
		if c != '<' {
			if depth == 0 && !isXMLSpace(c) {
				return root, fmt.Errorf("%w: text outside the root element", ErrMalformed)
			}
			i++
			continue
		}
		rest := data[i:]
		var end int // bytes of this markup
		switch {
		case bytes.HasPrefix(rest, []byte("<?")):
			end = past(rest, 2, "?>")
		case bytes.HasPrefix(rest, []byte("<!--")):
			end = past(rest, 4, "-->")
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			if depth == 0 {
				return root, fmt.Errorf("%w: CDATA outside the root element", ErrMalformed)
			}
			end = past(rest, 9, "]]>")
		case bytes.HasPrefix(rest, []byte("<!")):
			return root, ErrDoctype
		case bytes.HasPrefix(rest, []byte("</")):
			if depth--; depth < 0 {
				return root, fmt.Errorf("%w: unexpected end tag", ErrMalformed)
			}
			end = past(rest, 2, ">")
		default: // a start tag: its name, then attributes up to ">" or "/>"
			k := 1
			for k < len(rest) && !isXMLSpace(rest[k]) && rest[k] != '>' && rest[k] != '/' {
				k++
			}
			name := string(rest[1:k])
			if p := strings.IndexByte(name, ':'); p >= 1 && p < len(name)-1 {
				name = name[p+1:] // encoding/xml splits at the first colon
			}
			if !validLocalName(name) {
				// encoding/xml lets "<:>", "<a:>" and "<a:0>" through;
				// XML namespaces do not.
				return root, fmt.Errorf("%w: bad element name %q", ErrMalformed, name)
			}
			for end == 0 && k < len(rest) {
				switch rest[k] {
				case '"', '\'':
					q := bytes.IndexByte(rest[k+1:], rest[k])
					if q < 0 {
						return root, fmt.Errorf("%w: unterminated attribute value", ErrMalformed)
					}
					k += q + 2
				case '<':
					return root, fmt.Errorf("%w: \"<\" in a tag", ErrMalformed)
				case '>':
					end = k + 1
				default:
					k++
				}
			}
			if end == 0 {
				break
			}
			if depth == 0 {
				if roots++; roots > 1 {
					return root, fmt.Errorf("%w: more than one root element", ErrMalformed)
				}
				root = name
			}
			if depth+1 > maxDepth { // an empty element is a level too
				return root, fmt.Errorf("%w: more than %d levels", ErrTooDeep, maxDepth)
			}
			if rest[end-2] != '/' { // not an empty element: its content is deeper
				depth++
			}
		}
		if end <= 0 || end > len(rest) {
			return root, fmt.Errorf("%w: unterminated markup", ErrMalformed)
		}
		i += end
	}
	if roots == 0 {
		return root, ErrNoRoot
	}
	if depth != 0 {
		return root, fmt.Errorf("%w: %d unclosed elements", ErrMalformed, depth)
	}
	return root, nil
}

// past returns the length of b up to and including the first sep at or
// after from, 0 if there is none.
func past(b []byte, from int, sep string) int {
	if k := bytes.Index(b[from:], []byte(sep)); k >= 0 {
		return from + k + len(sep)
	}
	return 0
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

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
