package csta_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/csta"
)

func ExampleDecode() {
	// A Mitel 400 event: ed5 with a csta: prefix.
	data := []byte(`<csta:DeliveredEvent xmlns:csta="http://www.ecma-international.org/standards/ecma-323/csta/ed5">` +
		`<csta:monitorCrossRefID>3</csta:monitorCrossRefID>` +
		`<csta:connection><csta:callID>26</csta:callID><csta:deviceID>N&lt;123!98&gt;</csta:deviceID></csta:connection>` +
		`<csta:callingDevice><csta:deviceIdentifier>201</csta:deviceIdentifier></csta:callingDevice>` +
		`<csta:localConnectionInfo>alerting</csta:localConnectionInfo><csta:cause>newCall</csta:cause></csta:DeliveredEvent>`)
	m, err := csta.Decode(data)
	if err != nil {
		panic(err)
	}
	ev := m.(csta.Event)
	fmt.Println(m.RootName(), ev.Subject(), ev.ConnectionState(), ev.CauseCode())
	fmt.Println(m.(*csta.DeliveredEvent).CallingDevice.ID())
	// Output:
	// DeliveredEvent 26@N<123!98> alerting newCall
	// 201
}

func ExampleMarshal() {
	out, _ := csta.Marshal(&csta.AnswerCall{CallToBeAnswered: csta.Conn("12", "202")}, csta.Ed3.Namespace())
	fmt.Println(string(out))
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?><AnswerCall xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"><callToBeAnswered><callID>12</callID><deviceID>202</deviceID></callToBeAnswered></AnswerCall>
}

// A driver's session start and first monitor (not run: needs a switch).
func ExampleClient() {
	conn, err := net.DialTimeout("tcp", "aes.example.net:4721", 5*time.Second)
	if err != nil {
		return
	}
	c := csta.NewClient(conn, csta.ClientConfig{
		Namespace: csta.Ed3.Namespace(),
		OnEvent: func(m csta.Message) {
			if ev, ok := m.(csta.Event); ok {
				fmt.Println(ev.RootName(), ev.Subject(), ev.ConnectionState())
			}
		},
	})
	defer c.Close()
	ctx := context.Background()
	login := &csta.RawXML{Inner: []byte(`<SessionLoginInfo xmlns="http://www.avaya.com/csta">` +
		`<userName>cti</userName><password>secret</password><sessionCleanupDelay>60</sessionCleanupDelay></SessionLoginInfo>`)}
	resp, err := c.Call(ctx, &csta.StartApplicationSession{
		ApplicationInfo:           csta.ApplicationInfo{ApplicationID: "Switchboard", ApplicationSpecificInfo: login},
		RequestedProtocolVersions: csta.ProtocolVersions{ProtocolVersion: []string{csta.Ed3.Namespace() + "/priv7"}},
		RequestedSessionDuration:  180,
	})
	if err != nil {
		return
	}
	fmt.Println("session", resp.(*csta.StartApplicationSessionPosResponse).SessionID)
	mon, err := c.Call(ctx, &csta.MonitorStart{MonitorObject: csta.MonitorObject{
		DeviceObject: &csta.DeviceID{Value: "4750:CM1:10.0.0.5:0", TypeOfNumber: "other", MediaClass: "notKnown"}}})
	if err != nil {
		return
	}
	fmt.Println("monitor", mon.(*csta.MonitorStartResponse).MonitorCrossRefID)
}
