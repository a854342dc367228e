package mitel

import (
	"reflect"
	"time"

	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

var rawXMLType = reflect.TypeFor[*cstaxml.Raw]()

// stamp stamps m with the time now when Config.Timestamps is set.
func (s *Sim) stamp(m cstaxml.Message) {
	if s.cfg.Timestamps {
		stamp(m, time.Now())
	}
}

// stamp puts the switch's clock into an event that has an extensions
// element: ECMA-269 CSTACommonArguments security/timestamp (TimeInfo,
// xs:dateTime in ECMA-323), to nanoseconds so that the lab can measure
// event latency. Events without extensions are left as they are.
func stamp(m cstaxml.Message, at time.Time) {
	v := reflect.ValueOf(m)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return
	}
	f := v.Elem().FieldByName("Extensions")
	if !f.IsValid() || f.Type() != rawXMLType || !f.IsNil() || !f.CanSet() {
		return
	}
	ts := at.UTC().Format(time.RFC3339Nano)
	f.Set(reflect.ValueOf(&cstaxml.Raw{Inner: []byte("<security><timestamp>" + ts + "</timestamp></security>")}))
}
