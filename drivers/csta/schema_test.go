package csta_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

// TestFixturesFollowTheSchema reads every CSTA fixture in testdata/ with
// the lab's own ECMA-323/354 reader (lab/ctisim/cstaxml, written from the
// standards, strict on namespace, element names, order and enumerations):
// the fixtures the driver's golden tests pin must be documents the
// standard allows. Avaya's private messages are checked in drivers/avaya.
func TestFixturesFollowTheSchema(t *testing.T) {
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "avaya_get_device_id") {
			continue // Avaya's namespace: drivers/avaya checks it
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cstaxml.Decode(b); err != nil {
				t.Fatalf("not as ECMA-323/354 says: %v", err)
			}
		})
	}
}

// TestRequestsFollowTheSchema writes every request the drivers send, in
// each edition the drivers speak, and reads it back with the lab's own
// reader: a misspelt element, one out of the schema's order or a value
// outside an enumeration fails here before it reaches a PBX.
func TestRequestsFollowTheSchema(t *testing.T) {
	conn := csta.Conn("12", "201")
	li, _ := csta.NewRawXML(struct {
		XMLName  struct{} `xml:"SessionLoginInfo"`
		UserName string   `xml:"userName"`
	}{UserName: "u"})
	reqs := []csta.Message{
		&csta.StartApplicationSession{ApplicationInfo: csta.ApplicationInfo{ApplicationID: "Switchboard", ApplicationSpecificInfo: li},
			RequestedProtocolVersions: csta.ProtocolVersions{ProtocolVersion: []string{csta.Ed5.Namespace()}}, RequestedSessionDuration: 180},
		&csta.ResetApplicationSessionTimer{SessionID: "S1", RequestedSessionDuration: 180},
		&csta.StopApplicationSession{SessionID: "S1", SessionEndReason: csta.SessionEndReason{DefinedEndReason: csta.EndReasonNormal}},
		&csta.MonitorStart{MonitorObject: csta.MonitorObject{DeviceObject: &csta.DeviceID{Value: "201"}}, MonitorType: "device"},
		&csta.MonitorStop{MonitorCrossRefID: "7"},
		&csta.SnapshotDevice{SnapshotObject: csta.Device("201")},
		&csta.MakeCall{CallingDevice: csta.Device("201"), CalledDirectoryNumber: csta.Device("202"), AutoOriginate: "doNotPrompt"},
		&csta.AnswerCall{CallToBeAnswered: conn},
		&csta.ClearConnection{ConnectionToBeCleared: conn},
		&csta.HoldCall{CallToBeHeld: conn},
		&csta.ReconnectCall{ActiveCall: csta.Conn("13", "201"), HeldCall: conn},
		&csta.AlternateCall{HeldCall: conn, ActiveCall: csta.Conn("13", "201")},
		&csta.RetrieveCall{CallToBeRetrieved: conn},
		&csta.ConsultationCall{ExistingCall: conn, ConsultedDevice: csta.Device("203")},
		&csta.ConsultationCall{ExistingCall: conn, ConsultedDevice: csta.Device("203"), AccountCode: "4711"},
		&csta.MakeCall{CallingDevice: csta.Device("201"), CalledDirectoryNumber: csta.Device("202"), AccountCode: "4711", AutoOriginate: "doNotPrompt"},
		&csta.GroupPickupCall{NewDestination: csta.Device("201"), PickGroup: &csta.DeviceID{Value: "7"}},
		&csta.CampOnCall{CamponConnection: conn},
		&csta.CallBackCallRelated{CallBackConnection: conn},
		&csta.IntrudeCall{Intrude: conn},
		&csta.TransferCall{HeldCall: conn, ActiveCall: csta.Conn("13", "201")},
		&csta.ConferenceCall{HeldCall: conn, ActiveCall: csta.Conn("13", "201")},
		&csta.SingleStepTransferCall{ActiveCall: conn, TransferredTo: csta.Device("204")},
		&csta.DeflectCall{CallToBeDiverted: conn, NewDestination: csta.Device("204")},
		&csta.GenerateDigits{ConnectionToSendDigits: conn, CharactersToSend: "12#"},
		&csta.SetDoNotDisturb{Device: csta.Device("201"), DoNotDisturbOn: true},
		&csta.SetForwarding{Device: csta.Device("201"), ForwardingType: csta.ForwardImmediate, ActivateForward: true,
			ForwardDN: &csta.DeviceID{Value: "202"}},
		&csta.SetForwarding{Device: csta.Device("201"), ForwardingType: csta.ForwardNoAns, ActivateForward: false},
		&csta.SystemStatusResponse{},
	}
	for _, ed := range []csta.Edition{csta.Ed3, csta.Ed5} {
		for _, r := range reqs {
			b, err := csta.Marshal(r, ed.Namespace())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cstaxml.Decode(b); err != nil {
				t.Errorf("%s in %s: %v\n%s", r.RootName(), ed.Namespace(), err, b)
			}
		}
	}
}
