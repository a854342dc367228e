package csta

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// twoPassDecode is how Decode worked before scan: a full encoding/xml
// tokenization (check) before the typed decoding. It is the reference
// FuzzScanAgrees holds scan to.
func twoPassDecode(data []byte) (Message, error) {
	if !bytes.Equal(data, bytes.ToValidUTF8(data, nil)) {
		return nil, ErrInvalidUTF8
	}
	root, err := check(data, DefaultMaxDepth)
	if err != nil {
		return nil, err
	}
	var m Message = new(RawMessage)
	if newMsg, ok := registry[root.Local]; ok {
		m = newMsg()
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

// FuzzScanAgrees: Decode (scan, then one parse) accepts exactly what the
// two-pass decoding accepted, refuses with the same sentinel, and decodes
// the same message.
func FuzzScanAgrees(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.xml")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	for _, s := range scanCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > DefaultMaxSize {
			return
		}
		got, gerr := Decode(data)
		want, werr := twoPassDecode(data)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("%q: scan %v, two passes %v", data, gerr, werr)
		}
		if werr != nil {
			for _, s := range []error{ErrDoctype, ErrTooDeep, ErrNoRoot, ErrInvalidUTF8} {
				if errors.Is(werr, s) && !errors.Is(gerr, s) && !errors.Is(gerr, ErrMalformed) {
					t.Fatalf("%q: scan %v, two passes %v", data, gerr, werr)
				}
			}
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decoded differently\n%#v\n%#v", data, got, want)
		}
	})
}

// scanCases are documents whose markup could fool a scanner: "<" and ">"
// in comments, CDATA, attribute values and processing instructions,
// directives inside the root, text and second roots after it.
var scanCases = []string{
	`<a><!-- <b> --></a>`,
	`<a><![CDATA[<b><!DOCTYPE x>]]></a>`,
	`<a x="<b>"/>`,
	`<a x='>'><b/></a>`,
	`<a><?pi <b>?></a>`,
	`<a><!DOCTYPE x></a>`,
	`<a/><b/>`,
	`<a/>x`,
	`<a/><!-- ok --> <?pi ok?>`,
	`<![CDATA[x]]><a/>`,
	`<a><b></a>`,
	`<a></b>`,
	`<a`,
	`<a><!-- </a>`,
	`<:a/>`,
	`<a:/>`,
	`<a:0/>`,
	`<a:b:c/>`,
	`< a/>`,
	`<a/ >`,
	`<a b="1"c="2"/>`,
	`<?xml version="1.0"?><a/>`,
	`  <a/>  `,
	`<a>` + strings.Repeat("<b>", 40) + strings.Repeat("</b>", 40) + `</a>`,
	`<a></a>]]>`,
	`<a>]]></a>`,
	`<a>&lol;</a>`,
}

// TestScanAgrees runs scanCases through both decodings (FuzzScanAgrees's
// seed corpus).
func TestScanAgrees(t *testing.T) {
	for _, s := range scanCases {
		got, gerr := Decode([]byte(s))
		want, werr := twoPassDecode([]byte(s))
		if (gerr == nil) != (werr == nil) || gerr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%q: scan %v, two passes %v", s, gerr, werr)
		}
	}
}
