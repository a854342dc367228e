package cstaxml

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

const ed3 = `xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"`

// TestDecodeStrict: what the standards allow is read, what they do not is
// refused with the reason, never silently accepted.
func TestDecodeStrict(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      error // nil: accepted
	}{
		{"hold", `<HoldCall ` + ed3 + `><callToBeHeld><callID>1</callID><deviceID>201</deviceID></callToBeHeld></HoldCall>`, nil},
		{"ed5 prefixed", `<csta:HoldCall xmlns:csta="http://www.ecma-international.org/standards/ecma-323/csta/ed5"><csta:callToBeHeld><csta:callID>1</csta:callID></csta:callToBeHeld></csta:HoldCall>`, nil},
		{"avaya private version", `<MonitorStop xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv7"><monitorCrossRefID>3</monitorCrossRefID></MonitorStop>`, nil},
		{"misspelt element", `<HoldCall ` + ed3 + `><callToBeHold><callID>1</callID></callToBeHold></HoldCall>`, ErrStructure},
		{"out of order", `<HoldCall ` + ed3 + `><callToBeHeld><deviceID>201</deviceID><callID>1</callID></callToBeHeld></HoldCall>`, ErrStructure},
		{"repeated", `<MonitorStop ` + ed3 + `><monitorCrossRefID>3</monitorCrossRefID><monitorCrossRefID>4</monitorCrossRefID></MonitorStop>`, ErrStructure},
		{"no namespace", `<HoldCall><callToBeHeld><callID>1</callID></callToBeHeld></HoldCall>`, ErrNamespace},
		{"foreign namespace", `<HoldCall xmlns="urn:x"><callToBeHeld><callID>1</callID></callToBeHeld></HoldCall>`, ErrNamespace},
		{"child in another namespace", `<HoldCall ` + ed3 + `><callToBeHeld xmlns="urn:x"><callID>1</callID></callToBeHeld></HoldCall>`, ErrStructure},
		{"session in CSTA namespace", `<StartApplicationSession ` + ed3 + `><applicationInfo><applicationID>a</applicationID></applicationInfo><requestedProtocolVersions><protocolVersion>x</protocolVersion></requestedProtocolVersions></StartApplicationSession>`, ErrNamespace},
		{"enumeration", `<SetForwarding ` + ed3 + `><device>201</device><forwardingType>forwardSometimes</forwardingType><activateForward>true</activateForward></SetForwarding>`, ErrStructure},
		{"boolean", `<SetDoNotDisturb ` + ed3 + `><device>201</device><doNotDisturbOn>yes</doNotDisturbOn></SetDoNotDisturb>`, ErrStructure},
		{"unknown root", `<PlayMessage ` + ed3 + `/>`, ErrUnknown},
		{"doctype", `<!DOCTYPE x [<!ENTITY a "b">]><MonitorStop ` + ed3 + `><monitorCrossRefID>&a;</monitorCrossRefID></MonitorStop>`, ErrDoctype},
		{"not well formed", `<MonitorStop ` + ed3 + `><monitorCrossRefID>`, ErrStructure},
		{"text where elements go", `<HoldCall ` + ed3 + `><callToBeHeld><callID><x/></callID></callToBeHeld></HoldCall>`, ErrStructure},
		{"extensions are opaque", `<MonitorStart ` + ed3 + `><monitorObject><deviceObject>201</deviceObject></monitorObject><extensions><privateData><private><AvayaEvents xmlns="http://www.avaya.com/csta"><invertFilter>true</invertFilter></AvayaEvents></private></privateData></extensions></MonitorStart>`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.doc))
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestVendorAndSessionNamespaces: a decoder's version list and vendor
// messages.
func TestVendorAndSessionNamespaces(t *testing.T) {
	d := &Decoder{CSTANamespaces: func() []string { return []string{Ed5} }}
	if _, err := d.Decode([]byte(`<MonitorStop ` + ed3 + `><monitorCrossRefID>3</monitorCrossRefID></MonitorStop>`)); !errors.Is(err, ErrNamespace) {
		t.Fatalf("ed3 where the session allows ed5: %v", err)
	}
	if _, err := d.Decode([]byte(`<ResetApplicationSessionTimer xmlns="` + SessionNamespace + `"><sessionID>S</sessionID></ResetApplicationSessionTimer>`)); err != nil {
		t.Fatalf("session message: %v", err)
	}
}

// TestFrames: the reader takes what Frame writes, skips an oversized
// frame and stays in step, and refuses broken headers.
func TestFrames(t *testing.T) {
	var b bytes.Buffer
	b.Write(Frame(7, []byte("<a/>")))
	b.Write(Frame(8, bytes.Repeat([]byte("x"), 200)))
	b.Write(Frame(EventInvokeID, []byte("<b/>")))
	r := NewReader(&b, 100)
	if id, p, err := r.Read(); err != nil || id != 7 || string(p) != "<a/>" {
		t.Fatalf("first: %v %q %v", id, p, err)
	}
	if id, _, err := r.Read(); !errors.Is(err, ErrFrameTooLarge) || id != 8 {
		t.Fatalf("oversized: %v %v", id, err)
	}
	if id, p, err := r.Read(); err != nil || id != EventInvokeID || string(p) != "<b/>" {
		t.Fatalf("after the oversized one: %v %q %v", id, p, err)
	}
	for name, h := range map[string][]byte{
		"format":    {1, 0, 0, 8, '0', '0', '0', '1'},
		"length":    {0, 0, 0, 4, '0', '0', '0', '1'},
		"invoke ID": {0, 0, 0, 8, '0', 'x', '0', '1'},
		"signed ID": {0, 0, 0, 8, '+', '0', '0', '1'},
	} {
		if _, _, err := NewReader(bytes.NewReader(h), 0).Read(); err == nil {
			t.Errorf("%s: accepted %v", name, h)
		}
	}
}

// FuzzDecode: a document the reader accepts is one it can write again in
// the same namespace and read back to the same message; the reader never
// panics.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`<HoldCall ` + ed3 + `><callToBeHeld><callID>1</callID><deviceID>201</deviceID></callToBeHeld></HoldCall>`,
		`<SetForwarding ` + ed3 + `><device>201</device><forwardingType>forwardBusy</forwardingType><activateForward>true</activateForward><forwardDN>202</forwardDN></SetForwarding>`,
		`<DeliveredEvent ` + ed3 + `><monitorCrossRefID>7</monitorCrossRefID><connection><callID>12</callID><deviceID>202</deviceID></connection><alertingDevice><deviceIdentifier>202</deviceIdentifier></alertingDevice><lastRedirectionDevice><notRequired/></lastRedirectionDevice><localConnectionInfo>alerting</localConnectionInfo><cause>newCall</cause></DeliveredEvent>`,
		`<StartApplicationSession xmlns="` + SessionNamespace + `"><applicationInfo><applicationID>a</applicationID></applicationInfo><requestedProtocolVersions><protocolVersion>` + Ed5 + `</protocolVersion></requestedProtocolVersions><requestedSessionDuration>60</requestedSessionDuration></StartApplicationSession>`,
		`<CSTAErrorCode ` + ed3 + `><operation>invalidDeviceID</operation></CSTAErrorCode>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		root, _ := rootOf(b)
		out, err := Marshal(m, root.Space)
		if err != nil {
			t.Fatalf("accepted %q but cannot write it: %v", b, err)
		}
		again, err := Decode(out)
		if err != nil {
			t.Fatalf("accepted %q, wrote %q, refused that: %v", b, out, err)
		}
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("round trip changed the message:\n%#v\n%#v", m, again)
		}
	})
}
