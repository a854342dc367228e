package mitel

import (
	"bytes"
	"encoding/xml"
	"reflect"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/csta"
)

var rawXMLType = reflect.TypeFor[*csta.RawXML]()

// pbxTime returns the switch's timestamp of an event: ECMA-269
// CSTACommonArguments security/timestamp (TimeInfo), which ECMA-323 writes
// as extensions/security/timestamp, an xs:dateTime. Zero when the event
// has none or it does not parse.
func pbxTime(m csta.Message) time.Time {
	v := reflect.ValueOf(m)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return time.Time{}
	}
	f := v.Elem().FieldByName("Extensions")
	if !f.IsValid() || f.Type() != rawXMLType || f.IsNil() {
		return time.Time{}
	}
	inner := f.Interface().(*csta.RawXML).Inner
	if !bytes.Contains(inner, []byte("timestamp")) {
		return time.Time{}
	}
	return timestampIn(inner)
}

// timestampIn finds security/timestamp in an extensions fragment, by
// local name (the PBX may prefix it).
func timestampIn(inner []byte) time.Time {
	dec := xml.NewDecoder(bytes.NewReader(inner))
	dec.Strict = false
	var path []string
	for range 64 { // a handful of elements at most; never walk a large blob
		tok, err := dec.Token()
		if err != nil {
			return time.Time{}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
		case xml.EndElement:
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
		case xml.CharData:
			if len(path) == 2 && path[0] == "security" && path[1] == "timestamp" {
				ts, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(t)))
				if err != nil {
					return time.Time{}
				}
				return ts
			}
		}
	}
	return time.Time{}
}
