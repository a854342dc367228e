package csta

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"unicode/utf8"
)

// xmlChar reports whether r may appear in an XML 1.0 document.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// FuzzRawXMLFind: any text a vendor puts in a private element (Avaya's
// UCID in globallyUniqueCallLinkageID) is what Find reads back, trimmed,
// however deep and after whatever sibling it sits; and Find never panics
// on arbitrary bytes.
func FuzzRawXMLFind(f *testing.F) {
	f.Add("00001008121602656783", "DeliveredEventPrivateData", []byte(`<a><b/></a>`))
	f.Add(" <&>\"' ", "x", []byte("<"))
	f.Add("\r\n\t v \r", "ns1:y", []byte{0xff, 0xfe})
	f.Fuzz(func(t *testing.T, v, wrapper string, junk []byte) {
		_ = (&RawXML{Inner: junk}).Find("globallyUniqueCallLinkageID") // must not panic
		if !utf8.ValidString(v) || strings.IndexFunc(v, func(r rune) bool { return !xmlChar(r) }) >= 0 {
			return
		}
		if !isName(wrapper) || strings.HasSuffix(wrapper, "globallyUniqueCallLinkageID") {
			wrapper = "w" // Find reads the first element of the name: not the wrapper
		}
		var esc bytes.Buffer
		if err := xml.EscapeText(&esc, []byte(v)); err != nil {
			t.Fatal(err)
		}
		doc := `<privateData><` + wrapper + ` xmlns:ns1="urn:x"><other>skip</other><ns1:globallyUniqueCallLinkageID>` +
			esc.String() + `</ns1:globallyUniqueCallLinkageID></` + wrapper + `></privateData>`
		got := (&RawXML{Inner: []byte(doc)}).Find("globallyUniqueCallLinkageID")
		if want := strings.TrimSpace(v); got != want {
			t.Fatalf("Find in %q = %q, want %q", doc, got, want)
		}
	})
}

// isName reports whether s is a plain XML element name (letters, digits,
// '-', '_', '.', one optional prefix colon, starting with a letter).
func isName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	colons := 0
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'):
		case i > 0 && r == ':' && colons == 0 && i < len(s)-1:
			colons++
		default:
			return false
		}
	}
	return !strings.HasPrefix(strings.ToLower(s), "xml")
}
