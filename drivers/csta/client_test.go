package csta

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSwitch is the PBX end of a link in tests: it reads frames and hands
// each decoded request to handle, which may answer through reply.
type fakeSwitch struct {
	t    *testing.T
	conn net.Conn
	f    *HeaderFramer
}

func (s *fakeSwitch) send(id InvokeID, m Message) {
	b, err := Marshal(m, Ed5.Namespace())
	if err != nil {
		s.t.Errorf("switch marshal: %v", err)
		return
	}
	_ = s.f.WriteFrame(Frame{InvokeID: id, Payload: b})
}

// serve reads until the link closes.
func (s *fakeSwitch) serve(handle func(id InvokeID, m Message)) {
	for {
		fr, err := s.f.ReadFrame()
		if err != nil {
			return
		}
		m, err := Decode(fr.Payload)
		if err != nil {
			s.t.Errorf("switch decode: %v", err)
			return
		}
		handle(fr.InvokeID, m)
	}
}

// newPair returns a client and the fake switch over TCP loopback.
func newPair(t *testing.T, cfg ClientConfig) (*Client, *fakeSwitch) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc := <-accepted
	if sc == nil {
		t.Fatal("accept failed")
	}
	c := NewClient(cc, cfg)
	sw := &fakeSwitch{t: t, conn: sc, f: NewHeaderFramer(sc)}
	t.Cleanup(func() {
		c.Close()
		sc.Close()
	})
	return c, sw
}

// TestClientConcurrentCalls: many calls in flight, answered out of order
// with events in between; every caller gets its own answer.
func TestClientConcurrentCalls(t *testing.T) {
	var events atomic.Int64
	c, sw := newPair(t, ClientConfig{OnEvent: func(m Message) {
		if _, ok := m.(*DeliveredEvent); ok {
			events.Add(1)
		}
	}})
	go sw.serve(func(id InvokeID, m Message) {
		req, ok := m.(*MonitorStart)
		if !ok {
			t.Errorf("switch got %T", m)
			return
		}
		go func() {
			time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
			sw.send(EventInvokeID, &DeliveredEvent{MonitorCrossRefID: "x", Connection: Conn("1", "201"), LocalConnectionInfo: "alerting"})
			sw.send(id, &MonitorStartResponse{MonitorCrossRefID: "ref-" + req.MonitorObject.DeviceObject.Value})
		}()
	})
	const n = 300
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dev := fmt.Sprint(1000 + i)
			resp, err := c.Call(context.Background(), &MonitorStart{MonitorObject: MonitorObject{DeviceObject: &DeviceID{Value: dev}}})
			if err != nil {
				t.Errorf("call %d: %v", i, err)
				return
			}
			if got := resp.(*MonitorStartResponse).MonitorCrossRefID; got != "ref-"+dev {
				t.Errorf("call %d got %q", i, got)
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for events.Load() < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := events.Load(); got != n {
		t.Errorf("events: got %d, want %d", got, n)
	}
	c.mu.Lock()
	left := len(c.pending)
	c.mu.Unlock()
	if left != 0 {
		t.Errorf("%d pending left", left)
	}
}

// TestClientAnswersSwitchRequests: the switch's SystemStatus is answered
// with its invoke ID; an unknown request gets a CSTAErrorCode.
func TestClientAnswersSwitchRequests(t *testing.T) {
	c, sw := newPair(t, ClientConfig{})
	_ = c
	got := make(chan Frame, 2)
	go func() {
		for {
			fr, err := sw.f.ReadFrame()
			if err != nil {
				return
			}
			got <- fr
		}
	}()
	sw.send(5, &SystemStatus{SystemStatus: SystemStatusNormal})
	sw.send(6, &RawMessage{XMLName: xmlName("urn:x", "SomethingElse")})
	seen := map[InvokeID]Message{}
	for range 2 {
		select {
		case fr := <-got:
			m, err := Decode(fr.Payload)
			if err != nil {
				t.Fatal(err)
			}
			seen[fr.InvokeID] = m
		case <-time.After(5 * time.Second):
			t.Fatal("no answer from client")
		}
	}
	if _, ok := seen[5].(*SystemStatusResponse); !ok {
		t.Errorf("SystemStatus answered with %T", seen[5])
	}
	if e, ok := seen[6].(*CSTAErrorCode); !ok || e.Category != CategoryOperation {
		t.Errorf("unknown request answered with %#v", seen[6])
	}
}

func TestClientOnRequest(t *testing.T) {
	var status atomic.Value
	c, sw := newPair(t, ClientConfig{OnRequest: func(ctx context.Context, req Message) Message {
		if s, ok := req.(*SystemStatus); ok {
			status.Store(s.SystemStatus)
		}
		return nil // default answer
	}})
	_ = c
	sw.send(77, &SystemStatus{SystemStatus: SystemStatusOverloadImminent})
	fr, err := sw.f.ReadFrame()
	if err != nil || fr.InvokeID != 77 {
		t.Fatalf("%v %v", fr.InvokeID, err)
	}
	if status.Load() != SystemStatusOverloadImminent {
		t.Errorf("handler saw %v", status.Load())
	}
}

func TestClientErrorsAndTimeouts(t *testing.T) {
	var reported atomic.Int64
	c, sw := newPair(t, ClientConfig{OnError: func(error) { reported.Add(1) }})
	var late InvokeID
	lateCh := make(chan struct{})
	go sw.serve(func(id InvokeID, m Message) {
		switch r := m.(type) {
		case *MonitorStart:
			sw.send(id, &CSTAErrorCode{Category: CategorySystemResourceAvailability, Value: "overallMonitorLimitExceeded"})
		case *StartApplicationSession:
			sw.send(id, &StartApplicationSessionNegResponse{ErrorCode: SessionErrorCode{DefinedError: SessionErrInvalidApplicationInfo}})
		case *HoldCall:
			sw.send(id, &RetrieveCallResponse{})
		case *AnswerCall:
			late = id // never answered in time
			close(lateCh)
		case *ClearConnection:
			sw.f.WriteFrame(Frame{InvokeID: id, Payload: []byte("<ClearConnectionResponse><broken")})
		case *MakeCall:
			sw.send(id, &MakeCallResponse{CallingDevice: Conn("9", r.CallingDevice.Value)})
		}
	})
	ctx := context.Background()

	_, err := c.Call(ctx, &MonitorStart{MonitorObject: MonitorObject{DeviceObject: &DeviceID{Value: "1"}}})
	var ce *CSTAErrorCode
	if !errors.As(err, &ce) || !errors.Is(err, ErrCSTA) || ce.Value != "overallMonitorLimitExceeded" {
		t.Errorf("CSTA error: %v", err)
	}
	_, err = c.Call(ctx, &StartApplicationSession{})
	var se *SessionError
	if !errors.As(err, &se) || !errors.Is(err, ErrSessionRefused) || se.DefinedError != SessionErrInvalidApplicationInfo {
		t.Errorf("session error: %v", err)
	}
	if _, err = c.Call(ctx, &HoldCall{}); !errors.Is(err, ErrUnexpectedResponse) {
		t.Errorf("wrong response: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = c.Call(tctx, &AnswerCall{})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: %v", err)
	}
	<-lateCh
	sw.send(late, &AnswerCallResponse{}) // too late: dropped and reported
	if _, err = c.Call(ctx, &ClearConnection{}); !errors.Is(err, ErrMalformed) {
		t.Errorf("malformed response: %v", err)
	}
	// The link is still good.
	resp, err := c.Call(ctx, &MakeCall{CallingDevice: Device("201"), CalledDirectoryNumber: Device("202")})
	if err != nil || resp.(*MakeCallResponse).CallingDevice.CallID != "9" {
		t.Fatalf("after errors: %v %v", resp, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for reported.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if reported.Load() < 1 {
		t.Error("late response not reported")
	}
}

// TestClientLinkLoss: pending calls fail with ErrClosed when the switch
// hangs up, and so do later ones.
func TestClientLinkLoss(t *testing.T) {
	c, sw := newPair(t, ClientConfig{})
	got := make(chan struct{})
	go sw.serve(func(InvokeID, Message) { close(got) })
	errc := make(chan error, 1)
	go func() {
		_, err := c.Call(context.Background(), &SnapshotDevice{SnapshotObject: Device("201")})
		errc <- err
	}()
	<-got
	sw.conn.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("pending call: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pending call hangs after link loss")
	}
	<-c.Done()
	if !errors.Is(c.Err(), ErrClosed) {
		t.Errorf("Err: %v", c.Err())
	}
	if _, err := c.Call(context.Background(), &MonitorStop{}); !errors.Is(err, ErrClosed) {
		t.Errorf("call after close: %v", err)
	}
}

// TestClientBadHeaderCloses: a header that can't be resynchronised ends
// the link instead of hanging or guessing.
func TestClientBadHeaderCloses(t *testing.T) {
	c, sw := newPair(t, ClientConfig{})
	sw.conn.Write([]byte("\x00\x00\x00\x10abcd<garbage/>"))
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("client did not close on a bad header")
	}
	if !errors.Is(c.Err(), ErrBadInvokeID) {
		t.Errorf("Err: %v", c.Err())
	}
}

func TestInvokeIDAllocation(t *testing.T) {
	c := &Client{next: MinInvokeID, pending: map[InvokeID]chan result{}}
	id, _, _ := c.register()
	if id != 1 {
		t.Fatalf("first ID %v", id)
	}
	c.unregister(id)
	c.next = MaxInvokeID
	id, _, _ = c.register()
	id2, _, _ := c.register()
	if id != MaxInvokeID || id2 != MinInvokeID {
		t.Fatalf("wrap: %v then %v", id, id2)
	}
	// 2 is taken by a slow call: allocation skips it.
	c.pending[2] = make(chan result, 1)
	if id, _, _ := c.register(); id != 3 {
		t.Fatalf("skip busy: %v", id)
	}
	for i := range MaxInvokeID {
		c.pending[i+1] = nil
	}
	if _, _, err := c.register(); !errors.Is(err, ErrTooManyPending) {
		t.Fatalf("all busy: %v", err)
	}
}

// TestClientSystemStatusOnEventID: a SystemStatus sent with 9999 is still
// answered, not passed on as an event.
func TestClientSystemStatusOnEventID(t *testing.T) {
	c, sw := newPair(t, ClientConfig{OnEvent: func(m Message) { t.Errorf("event %T", m) }})
	_ = c
	sw.send(EventInvokeID, &SystemStatus{SystemStatus: SystemStatusNormal})
	fr, err := sw.f.ReadFrame()
	if err != nil || fr.InvokeID != EventInvokeID {
		t.Fatalf("%v %v", fr.InvokeID, err)
	}
	if m, _ := Decode(fr.Payload); m == nil || m.RootName() != "SystemStatusResponse" {
		t.Fatalf("answer %v", m)
	}
}
