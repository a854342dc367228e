// Package xmlcheck checks an XML document against the Go structure a
// simulator reads it into, as a schema validator would for the parts the
// structure models: element names, their sequence order, repetition,
// namespace, leaf values of xsd:boolean, integers and enumerations.
// encoding/xml alone accepts unknown, misplaced and misspelt elements
// silently; a simulator that is to witness a driver must not.
package xmlcheck

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// Errors of Check.
var (
	ErrSchema    = errors.New("not as the schema says")
	ErrNamespace = errors.New("wrong namespace")
)

// opaque reports whether t's content is not checked: an innerxml holder
// (a struct whose only field is tagged ",innerxml") or an xml.Unmarshaler.
func opaque(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return true
	}
	if t.Kind() != reflect.Struct || t.NumField() != 1 {
		return false
	}
	return strings.Contains(t.Field(0).Tag.Get("xml"), ",innerxml")
}

// field is one child element a structure allows, in schema order.
type field struct {
	name  string
	typ   reflect.Type
	many  bool
	enum  []string
	inner *field // the "a>b" form: a holds b
}

var unmarshalerType = reflect.TypeFor[xml.Unmarshaler]()

var fieldCache sync.Map // reflect.Type → []field

// fieldsOf lists t's child elements in field order (cached per type).
func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	f := fieldsOfUncached(t)
	fieldCache.Store(t, f)
	return f
}

func fieldsOfUncached(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("xml")
		if sf.Anonymous && tag == "" && sf.Type.Kind() == reflect.Struct {
			out = append(out, fieldsOf(sf.Type)...) // encoding/xml flattens it
			continue
		}
		if sf.Anonymous || tag == "" || tag == "-" || sf.Name == "XMLName" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "attr") || strings.Contains(opts, "chardata") || strings.Contains(opts, "innerxml") || name == "" {
			continue
		}
		ft := sf.Type
		many := ft.Kind() == reflect.Slice && ft.Elem().Kind() != reflect.Uint8
		if many {
			ft = ft.Elem()
		}
		var enum []string
		if e := sf.Tag.Get("enum"); strings.Contains(e, "|") {
			enum = strings.Split(e, "|")
		} else if e != "" {
			enum = strings.Fields(e)
		}
		if outer, in, ok := strings.Cut(name, ">"); ok {
			out = append(out, field{name: outer, inner: &field{name: in, typ: ft, many: many, enum: enum}})
			continue
		}
		out = append(out, field{name: name, typ: ft, many: many, enum: enum})
	}
	return out
}

// Check walks document b against v's type (a struct or pointer to one,
// its xml tags in schema order): each child element known, in the
// structure's order, not repeated unless a slice, in the root's
// namespace; leaves without children; xsd:boolean and integer values well
// formed; values of fields tagged enum:"a b c" among those listed. Fields
// tagged enum:"a|b c|d" (values with spaces) likewise. Fields of
// innerxml holders and xml.Unmarshalers are not
// descended into.
func Check(b []byte, v any) error {
	t := reflect.TypeOf(v)
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrSchema, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			return walk(dec, t, se.Name.Space, se.Name.Local, nil)
		}
	}
}

func walk(dec *xml.Decoder, t reflect.Type, ns, path string, enum []string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if opaque(t) {
		return dec.Skip()
	}
	if t.Kind() != reflect.Struct {
		return leaf(dec, t, path, enum)
	}
	return structure(dec, fieldsOf(t), ns, path)
}

func structure(dec *xml.Decoder, fields []field, ns, path string) error {
	last, seen := -1, map[int]bool{}
	for {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrSchema, path, err)
		}
		switch tk := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			p := path + "/" + tk.Name.Local
			if tk.Name.Space != ns {
				return fmt.Errorf("%w: %s in namespace %q, not the document's %q", ErrNamespace, p, tk.Name.Space, ns)
			}
			i := slices.IndexFunc(fields, func(f field) bool { return f.name == tk.Name.Local })
			if i < 0 {
				return fmt.Errorf("%w: %s is not an element of %s here", ErrSchema, tk.Name.Local, path)
			}
			f := fields[i]
			switch {
			case i < last:
				return fmt.Errorf("%w: %s after %s: out of the schema's order", ErrSchema, p, fields[last].name)
			case seen[i] && !f.many:
				return fmt.Errorf("%w: %s repeated", ErrSchema, p)
			}
			last, seen[i] = i, true
			if f.inner != nil {
				err = structure(dec, []field{*f.inner}, ns, p)
			} else {
				err = walk(dec, f.typ, ns, p, f.enum)
			}
			if err != nil {
				return err
			}
		}
	}
}

func leaf(dec *xml.Decoder, t reflect.Type, path string, enum []string) error {
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return fmt.Errorf("%w: %s: unterminated", ErrSchema, path)
		}
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrSchema, path, err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			return fmt.Errorf("%w: %s holds text, not <%s>", ErrSchema, path, tk.Name.Local)
		case xml.CharData:
			text.Write(tk)
		case xml.EndElement:
			v := strings.TrimSpace(text.String())
			switch t.Kind() {
			case reflect.Bool:
				if v != "true" && v != "false" && v != "1" && v != "0" {
					return fmt.Errorf("%w: %s: %q is not an xsd:boolean", ErrSchema, path, v)
				}
			case reflect.Int, reflect.Int64:
				if v == "" || strings.Trim(v, "0123456789") != "" {
					return fmt.Errorf("%w: %s: %q is not a non-negative integer", ErrSchema, path, v)
				}
			}
			if enum != nil && !slices.Contains(enum, v) {
				return fmt.Errorf("%w: %s: %q is not one of %v", ErrSchema, path, v, enum)
			}
			return nil
		}
	}
}
