package mitel

import (
	"encoding/xml"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

// recorder is an application for the flow tests: it logs in, monitors
// devices and records every event as "device Event local cause [extra]",
// read with the simulator's own decoder.
type recorder struct {
	*client
	xref   map[string]string // monitorCrossRefID → device
	events []string
}

func newRecorder(t *testing.T, s *Sim, devs ...string) *recorder {
	t.Helper()
	r := &recorder{client: dialClient(t, s), xref: map[string]string{}}
	if _, ok := r.call(login("", "")).(*cstaxml.StartApplicationSessionPosResponse); !ok {
		t.Fatal("no session")
	}
	for _, d := range devs {
		resp, ok := r.call(&cstaxml.MonitorStart{MonitorObject: cstaxml.MonitorObject{DeviceObject: &cstaxml.DeviceID{Value: d}}, MonitorType: "device"}).(*cstaxml.MonitorStartResponse)
		if !ok {
			t.Fatalf("monitor %s refused", d)
		}
		r.xref[resp.MonitorCrossRefID] = d
	}
	return r
}

// call sends m and returns its response, recording the events read on
// the way.
func (r *recorder) call(m cstaxml.Message) cstaxml.Message {
	r.t.Helper()
	r.id++
	b, err := cstaxml.Marshal(m, cstaxml.Ed5)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.conn.Write(cstaxml.Frame(r.id, b)); err != nil {
		r.t.Fatal(err)
	}
	for {
		id, p := r.read(5 * time.Second)
		if p == nil {
			r.t.Fatalf("no response to %T", m)
		}
		if id == r.id {
			resp, err := cstaxml.Decode(p)
			if err != nil {
				r.t.Fatalf("%v: %s", err, p)
			}
			return resp
		}
	}
}

// drain records the events that come within a short quiet spell.
func (r *recorder) drain() {
	for {
		if _, p := r.read(300 * time.Millisecond); p == nil {
			return
		}
	}
}

// read reads one frame (nil after d of silence), recording it if it is
// an event.
func (r *recorder) read(d time.Duration) (cstaxml.InvokeID, []byte) {
	_ = r.conn.SetReadDeadline(time.Now().Add(d))
	id, p, err := r.r.Read()
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, nil
		}
		r.t.Fatal(err)
	}
	if id == cstaxml.EventInvokeID {
		var v struct {
			XMLName               xml.Name
			X                     string `xml:"monitorCrossRefID"`
			Lo                    string `xml:"localConnectionInfo"`
			Cause                 string `xml:"cause"`
			NumberQueued          string `xml:"numberQueued"`
			CallsInFront          string `xml:"callsInFront"`
			DialingSequence       string `xml:"dialingSequence"`
			NetworkInterfaceUsed  string `xml:"networkInterfaceUsed>deviceIdentifier"`
			LastRedirectionDevice string `xml:"lastRedirectionDevice>deviceIdentifier"`
		}
		if err := xml.Unmarshal(p, &v); err != nil {
			r.t.Fatalf("%v: %s", err, p)
		}
		e := strings.Join([]string{r.xref[v.X], v.XMLName.Local, v.Lo, v.Cause}, " ")
		for _, x := range []struct{ k, v string }{{"queued", v.NumberQueued}, {"infront", v.CallsInFront},
			{"digits", v.DialingSequence}, {"trunk", v.NetworkInterfaceUsed}, {"redir", v.LastRedirectionDevice}} {
			if x.v != "" {
				e += " " + x.k + "=" + x.v
			}
		}
		r.events = append(r.events, e)
	}
	return id, p
}

// at returns the recorded events of dev, then forgets all.
func (r *recorder) at(dev string) []string {
	var out []string
	for _, e := range r.events {
		if strings.HasPrefix(e, dev+" ") {
			out = append(out, e)
		}
	}
	return out
}

func (r *recorder) makeCall(from, to string) string {
	r.t.Helper()
	resp, ok := r.call(&cstaxml.MakeCall{CallingDevice: cstaxml.Device(from), CalledDirectoryNumber: cstaxml.Device(to)}).(*cstaxml.MakeCallResponse)
	if !ok {
		r.t.Fatalf("make call %s→%s refused", from, to)
	}
	return resp.CallingDevice.CallID
}

func (r *recorder) answer(call, dev string) {
	r.t.Helper()
	if _, ok := r.call(&cstaxml.AnswerCall{CallToBeAnswered: cstaxml.Conn(call, dev)}).(*cstaxml.AnswerCallResponse); !ok {
		r.t.Fatalf("answer %s at %s refused", call, dev)
	}
}

func (r *recorder) clear(call, dev string) {
	r.t.Helper()
	if _, ok := r.call(&cstaxml.ClearConnection{ConnectionToBeCleared: cstaxml.Conn(call, dev)}).(*cstaxml.ClearConnectionResponse); !ok {
		r.t.Fatalf("clear %s at %s refused", call, dev)
	}
}

func want(t *testing.T, dev string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events at %s:\n%s\nwant\n%s", dev, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestFlows holds the simulator's call flows to the ECMA-269 events a
// switch sends for each (the sequences the drivers are tested against
// end to end): a call offered then delivered and cleared (CallCleared),
// a busy and a DND destination, an outgoing call to the public network,
// and a hunt group whose member is busy (Queued, then distributed).
func TestFlows(t *testing.T) {
	newSim := func(t *testing.T) *Sim {
		s, err := New(Config{Devices: []string{"201", "202", "203", "204"}, Lines: 1, Offer: true,
			ExternalPrefix: "0", Groups: map[string][]string{"600": {"204"}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	t.Run("offered_delivered_cleared", func(t *testing.T) {
		r := newRecorder(t, newSim(t), "201", "202")
		call := r.makeCall("201", "202")
		r.answer(call, "202")
		r.clear(call, "201")
		r.drain()
		want(t, "202", r.at("202"), []string{
			"202 OfferedEvent alerting newCall",
			"202 DeliveredEvent alerting newCall",
			"202 EstablishedEvent connected newCall",
			"202 ConnectionClearedEvent connected normalClearing",
			"202 ConnectionClearedEvent null normalClearing",
			"202 CallClearedEvent  normalClearing",
		})
	})
	t.Run("busy_and_dnd", func(t *testing.T) {
		s := newSim(t)
		r := newRecorder(t, s, "201", "202", "203")
		call := r.makeCall("201", "202")
		r.answer(call, "202")
		r.makeCall("203", "202")
		s.mu.Lock()
		s.dev("201").dnd = true
		s.mu.Unlock()
		r.drain()
		r.events = nil
		r.makeCall("203", "201")
		r.drain()
		want(t, "203", r.at("203"), []string{
			"203 OriginatedEvent connected makeCall",
			"203 FailedEvent fail doNotDisturb",
		})
	})
	t.Run("busy", func(t *testing.T) {
		r := newRecorder(t, newSim(t), "201", "202", "203")
		call := r.makeCall("201", "202")
		r.answer(call, "202")
		r.drain()
		r.events = nil
		r.makeCall("203", "202")
		r.drain()
		want(t, "203", r.at("203"), []string{
			"203 OriginatedEvent connected makeCall",
			"203 FailedEvent fail busy",
		})
		want(t, "202", r.at("202"), []string{"202 FailedEvent null busy"})
	})
	t.Run("outgoing_external", func(t *testing.T) {
		r := newRecorder(t, newSim(t), "201")
		call := r.makeCall("201", "0301234567")
		r.clear(call, "201")
		r.drain()
		want(t, "201", r.at("201"), []string{
			"201 DigitsDialedEvent initiated normal digits=0301234567",
			"201 OriginatedEvent connected makeCall",
			"201 NetworkReachedEvent connected makeCall trunk=T1",
			"201 EstablishedEvent connected makeCall",
			"201 ConnectionClearedEvent null normalClearing",
			"201 ConnectionClearedEvent null normalClearing",
			"201 CallClearedEvent  normalClearing",
		})
	})
	t.Run("hunt_group_queue", func(t *testing.T) {
		r := newRecorder(t, newSim(t), "201", "202", "203", "204", "600")
		busy := r.makeCall("202", "204") // the group's one member talks
		r.answer(busy, "204")
		r.drain()
		r.events = nil
		r.makeCall("201", "600")
		r.makeCall("203", "600")
		r.clear(busy, "202") // 204 is free: the first queued call goes to it
		r.drain()
		want(t, "201", r.at("201"), []string{
			"201 OriginatedEvent connected makeCall",
			"201 QueuedEvent connected enteringDistribution queued=1 infront=0",
			"201 DivertedEvent connected distributed",
			"201 OfferedEvent connected distributed redir=600",
			"201 DeliveredEvent connected distributed redir=600",
		})
		want(t, "600", r.at("600"), []string{
			"600 QueuedEvent queued enteringDistribution queued=1 infront=0",
			"600 QueuedEvent queued enteringDistribution queued=2 infront=1",
			"600 DivertedEvent null distributed",
		})
		want(t, "204", r.at("204")[len(r.at("204"))-2:], []string{
			"204 OfferedEvent alerting distributed redir=600",
			"204 DeliveredEvent alerting distributed redir=600",
		})
	})
}
