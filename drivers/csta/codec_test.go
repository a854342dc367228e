package csta

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// rootNamespace returns the namespace of data's root element.
func rootNamespace(t *testing.T, data []byte) string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			t.Fatalf("no root: %v", err)
		}
		if s, ok := tok.(xml.StartElement); ok {
			return s.Name.Space
		}
	}
}

// TestGolden decodes every testdata/*.xml, encodes it again in the
// namespace it came in and compares with the .golden file. Run with
// -update to rewrite the golden files after a deliberate change.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".xml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(data)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			out, err := Marshal(m, rootNamespace(t, data))
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			golden := strings.TrimSuffix(in, ".xml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, append(out, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			if got := string(out) + "\n"; got != string(want) {
				t.Errorf("encode mismatch\n got: %s\nwant: %s", got, want)
			}
			// The golden document decodes to the same value.
			again, err := Decode(out)
			if err != nil {
				t.Fatalf("Decode(golden): %v", err)
			}
			if _, raw := m.(*RawMessage); !raw && !reflect.DeepEqual(m, again) {
				t.Errorf("decode(encode(m)) != m\n got: %#v\nwant: %#v", again, m)
			}
		})
	}
}

func decodeFile(t *testing.T, name string) Message {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(data)
	if err != nil {
		t.Fatalf("Decode(%s): %v", name, err)
	}
	return m
}

func TestDecodeMitelPrefixed(t *testing.T) {
	ev, ok := decodeFile(t, "mitel_delivered_event.xml").(*DeliveredEvent)
	if !ok {
		t.Fatal("not a *DeliveredEvent")
	}
	if ev.Monitor() != "3" || ev.Subject().CallID != "26" || ev.Subject().Device() != "N<123!98>" {
		t.Errorf("connection: %+v %v", ev.MonitorCrossRefID, ev.Subject())
	}
	if ev.CallingDevice.ID() != "N<121!98>" || ev.AlertingDevice.ID() != "N<123!98>" {
		t.Errorf("parties: %q %q", ev.CallingDevice.ID(), ev.AlertingDevice.ID())
	}
	if ev.LastRedirectionDevice.Known() || ev.LastRedirectionDevice.NotKnown == nil {
		t.Errorf("lastRedirectionDevice should be notKnown: %+v", ev.LastRedirectionDevice)
	}
	if ev.ConnectionState() != StateAlerting || ev.CauseCode() != CauseNewCall {
		t.Errorf("state %v cause %v", ev.ConnectionState(), ev.CauseCode())
	}
	// Re-encoded in ed3 it is the Avaya form of the same event.
	out, err := Marshal(ev, Ed3.Namespace())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`<DeliveredEvent xmlns="`+Ed3.Namespace()+`">`)) ||
		!bytes.Contains(out, []byte(`<deviceID>N&lt;123!98&gt;</deviceID>`)) {
		t.Errorf("ed3 encoding: %s", out)
	}
}

func TestDecodeTypes(t *testing.T) {
	for file, want := range map[string]Message{
		"spec_delivered_ed3.xml":             &DeliveredEvent{},
		"originated_event.xml":               &OriginatedEvent{},
		"service_initiated_event.xml":        &ServiceInitiatedEvent{},
		"held_event.xml":                     &HeldEvent{},
		"retrieved_event.xml":                &RetrievedEvent{},
		"transfered_event.xml":               &TransferedEvent{},
		"conferenced_event.xml":              &ConferencedEvent{},
		"diverted_event.xml":                 &DivertedEvent{},
		"failed_event.xml":                   &FailedEvent{},
		"mitel_established_event.xml":        &EstablishedEvent{},
		"mitel_connection_cleared_event.xml": &ConnectionClearedEvent{},
		"mitel_monitor_start.xml":            &MonitorStart{},
		"avaya_monitor_start_response.xml":   &MonitorStartResponse{},
		"avaya_start_session.xml":            &StartApplicationSession{},
		"session_neg.xml":                    &StartApplicationSessionNegResponse{},
		"session_stop_pos.xml":               &StopApplicationSessionPosResponse{},
		"avaya_get_device_id.xml":            &RawMessage{},
		"system_status.xml":                  &SystemStatus{},
		"snapshot_device_response.xml":       &SnapshotDeviceResponse{},
		"mitel_monitor_limit_error.xml":      &CSTAErrorCode{},
	} {
		got := decodeFile(t, file)
		if reflect.TypeOf(got) != reflect.TypeOf(want) {
			t.Errorf("%s: got %T, want %T", file, got, want)
		}
	}
}

func TestDecodeDetails(t *testing.T) {
	tr := decodeFile(t, "transfered_event.xml").(*TransferedEvent)
	if n := len(tr.TransferredConnections.Items); n != 2 || tr.TransferredToDevice.ID() != "203" ||
		tr.TransferredConnections.Items[0].NewConnection.CallID != "13" || tr.CauseCode() != CauseTransfer {
		t.Errorf("transfered: %+v", tr)
	}
	if st := decodeFile(t, "retrieved_event.xml").(Event); st.CauseCode() != CauseUnknown || st.ConnectionState() != StateConnected {
		t.Errorf("retrieved: cause %v state %v", st.CauseCode(), st.ConnectionState())
	}
	e := decodeFile(t, "mitel_monitor_limit_error.xml").(*CSTAErrorCode)
	if e.Category != CategorySystemResourceAvailability || e.Value != "overallMonitorLimitExceeded" || !errors.Is(e, ErrCSTA) {
		t.Errorf("error code: %+v", e)
	}
	snap := decodeFile(t, "snapshot_device_response.xml").(*SnapshotDeviceResponse)
	items := snap.CrossRefIDorSnapshotData.SnapshotData.Items
	if len(items) != 2 || items[0].State() != StateHold || items[1].State() != StateConnected || items[1].ConnectionIdentifier.CallID != "13" {
		t.Errorf("snapshot: %+v", items)
	}
	ms := decodeFile(t, "avaya_monitor_start.xml").(*MonitorStart)
	if d := ms.MonitorObject.DeviceObject; d == nil || d.Value != "4750:CM1:10.0.0.5:0" || d.TypeOfNumber != "other" || d.MediaClass != "notKnown" {
		t.Errorf("deviceObject: %+v", d)
	}
	if ms.Extensions == nil || !bytes.Contains(ms.Extensions.Inner, []byte("<invertFilter>true</invertFilter>")) {
		t.Errorf("extensions not kept: %+v", ms.Extensions)
	}
	sf := decodeFile(t, "set_forwarding.xml").(*SetForwarding)
	if !sf.ActivateForward || sf.ForwardingType != ForwardImmediate || sf.ForwardDN.Value != "204" {
		t.Errorf("set forwarding: %+v", sf)
	}
}

func TestSessionLoginInfoRaw(t *testing.T) {
	s := decodeFile(t, "avaya_start_session.xml").(*StartApplicationSession)
	if s.ApplicationInfo.ApplicationID != "Switchboard" || s.RequestedSessionDuration != 180 ||
		len(s.RequestedProtocolVersions.ProtocolVersion) != 2 {
		t.Fatalf("session: %+v", s)
	}
	info := s.ApplicationInfo.ApplicationSpecificInfo
	if info == nil {
		t.Fatal("applicationSpecificInfo lost")
	}
	// The vendor XML is kept byte for byte and parses on its own.
	var login struct {
		XMLName  xml.Name `xml:"http://www.avaya.com/csta SessionLoginInfo"`
		UserName string   `xml:"userName"`
		Password string   `xml:"password"`
		Delay    int      `xml:"sessionCleanupDelay"`
	}
	if err := xml.Unmarshal(info.Inner, &login); err != nil {
		t.Fatalf("vendor XML: %v", err)
	}
	if login.UserName != "cti" || login.Password != "secret&1" || login.Delay != 60 {
		t.Errorf("login: %+v", login)
	}
	// Built from a vendor struct, it encodes in place.
	raw, err := NewRawXML(login)
	if err != nil {
		t.Fatal(err)
	}
	req := &StartApplicationSession{
		ApplicationInfo:           ApplicationInfo{ApplicationID: "Switchboard", ApplicationSpecificInfo: raw},
		RequestedProtocolVersions: ProtocolVersions{ProtocolVersion: []string{Ed3.Namespace() + "/priv7"}},
		RequestedSessionDuration:  180,
	}
	out, err := Marshal(req, Ed3.Namespace())
	if err != nil {
		t.Fatal(err)
	}
	want := `<StartApplicationSession xmlns="` + SessionNamespace + `"><applicationInfo><applicationID>Switchboard</applicationID>` +
		`<applicationSpecificInfo><SessionLoginInfo xmlns="http://www.avaya.com/csta"><userName>cti</userName><password>secret&amp;1</password>`
	if !bytes.Contains(out, []byte(want)) {
		t.Errorf("got %s\nwant containing %s", out, want)
	}
}

func TestMarshalEditions(t *testing.T) {
	req := &MonitorStart{MonitorObject: MonitorObject{DeviceObject: &DeviceID{Value: "201"}}, MonitorType: "device"}
	for _, ed := range []Edition{Ed3, Ed4, Ed5, Ed6} {
		out, err := Marshal(req, ed.Namespace())
		if err != nil {
			t.Fatal(err)
		}
		want := `<?xml version="1.0" encoding="UTF-8"?><MonitorStart xmlns="http://www.ecma-international.org/standards/ecma-323/csta/` +
			ed.String() + `"><monitorObject><deviceObject>201</deviceObject></monitorObject><monitorType>device</monitorType></MonitorStart>`
		if string(out) != want {
			t.Errorf("%v:\n got %s\nwant %s", ed, out, want)
		}
	}
}

func TestParseEdition(t *testing.T) {
	for in, want := range map[string]Edition{
		Ed3.Namespace():            Ed3,
		Ed6.Namespace():            Ed6,
		Ed3.Namespace() + "/priv6": Ed3,
		Ed3.Namespace() + "/privA": Ed3,
		NamespacePrefix + "3.0":    0,
		NamespacePrefix + "ed9":    0,
		"urn:other":                0,
	} {
		got, ok := ParseEdition(in)
		if got != want || ok != (want != 0) {
			t.Errorf("ParseEdition(%q) = %v, %v", in, got, ok)
		}
	}
}

func TestRawMessageKeepsPrefixes(t *testing.T) {
	in := `<x:Vendor xmlns:x="urn:v" a="1"><x:inner>v</x:inner></x:Vendor>`
	m, err := Decode([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	r := m.(*RawMessage)
	if r.RootName() != "Vendor" || r.XMLName.Space != "urn:v" {
		t.Fatalf("raw: %+v", r)
	}
	out, err := Marshal(r, Ed5.Namespace())
	if err != nil {
		t.Fatal(err)
	}
	again, err := Decode(out)
	if err != nil {
		t.Fatalf("re-decode %s: %v", out, err)
	}
	if !bytes.Equal(again.(*RawMessage).Inner, r.Inner) {
		t.Errorf("inner changed: %s", out)
	}
}

func xmlName(space, local string) xml.Name { return xml.Name{Space: space, Local: local} }

// vendorDeviceID stands for a driver's own message type.
type vendorDeviceID struct {
	SwitchName string `xml:"switchName"`
	Extension  string `xml:"extension"`
}

func (*vendorDeviceID) RootName() string  { return "GetDeviceId" }
func (*vendorDeviceID) Namespace() string { return "http://www.avaya.com/csta" }

func TestVendorTypes(t *testing.T) {
	data, err := os.ReadFile("testdata/avaya_get_device_id.xml")
	if err != nil {
		t.Fatal(err)
	}
	// As a RawMessage, unmarshalled by the driver.
	m, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	var v vendorDeviceID
	if err := m.(*RawMessage).Unmarshal(&v); err != nil || v.Extension != "4750" || v.SwitchName != "CM1" {
		t.Fatalf("raw unmarshal: %+v %v", v, err)
	}
	// As a registered type.
	d := &Decoder{Types: map[string]func() Message{"GetDeviceId": func() Message { return new(vendorDeviceID) }}}
	m, err = d.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.(*vendorDeviceID); got.Extension != "4750" {
		t.Fatalf("typed: %+v", got)
	}
	// Encoded in its own namespace whatever the CSTA edition.
	out, err := Marshal(m, Ed3.Namespace())
	if err != nil {
		t.Fatal(err)
	}
	want := `<GetDeviceId xmlns="http://www.avaya.com/csta"><switchName>CM1</switchName><extension>4750</extension></GetDeviceId>`
	if !bytes.HasSuffix(out, []byte(want)) {
		t.Errorf("got %s", out)
	}
}
