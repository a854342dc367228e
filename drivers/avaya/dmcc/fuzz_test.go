package dmcc_test

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/avaya/dmcc"
	"github.com/switchboard-gw/switchboard/drivers/csta"
)

// FuzzDMCC fuzzes the decoding this package adds to csta's (already
// fuzzed by csta.FuzzDecode), seeded with the golden inputs of
// drivers/avaya/testdata: the DMCC message types, the agent events'
// custom unmarshalling and the login reader. Nothing may panic; whatever
// decodes must re-encode and decode to the same message.
func FuzzDMCC(f *testing.F) {
	files, _ := filepath.Glob("../testdata/*.xml")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`<AgentBusyEvent><monitorCrossRefID>1</monitorCrossRefID><agentDevice a="b">x</agentDevice></AgentBusyEvent>`))
	f.Add([]byte(`<SessionLoginInfo><userName>u</userName><sessionCleanupDelay>x</sessionCleanupDelay></SessionLoginInfo>`))
	dec := dmcc.NewDecoder()
	f.Fuzz(func(t *testing.T, data []byte) {
		var li dmcc.LoginInfo
		_ = xml.Unmarshal(data, &li)
		_ = dmcc.Extension(string(data))
		_ = dmcc.Switch(string(data))
		m, err := dec.Decode(data)
		if err != nil {
			return
		}
		out, err := csta.Marshal(m, csta.Ed3.Namespace())
		if err != nil {
			if _, raw := m.(*csta.RawMessage); raw {
				return
			}
			t.Fatalf("Marshal(%T) of a decoded message: %v", m, err)
		}
		again, err := dec.Decode(out)
		if err != nil {
			t.Fatalf("re-decode: %v\nin:  %q\nout: %q", err, data, out)
		}
		if _, raw := m.(*csta.RawMessage); raw {
			return
		}
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("round trip changed %T\nin:  %q\nout: %q\n%#v\n%#v", m, data, out, m, again)
		}
	})
}
