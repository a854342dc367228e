package ctisim

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

// pipe returns a Conn on one end of a TCP connection, its goroutines
// running, and the application's end.
func pipe(t *testing.T, r Reader) (*Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	app, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sw, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	c := NewConn(sw, func(m cstaxml.Message) ([]byte, error) { return cstaxml.Marshal(m, cstaxml.Ed3) },
		func() { close(closed) })
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.WriteLoop() }()
	go func() { defer wg.Done(); defer c.Close(); c.ReadLoop(r) }()
	t.Cleanup(func() {
		_ = app.Close()
		c.Close()
		wg.Wait()
		select {
		case <-closed:
		default:
			t.Error("onClose not run")
		}
	})
	return c, app
}

// TestConnRoundTrip: a request is handled, an undecodable frame gets a
// CSTA error back, a SystemStatusResponse is counted, and a message sent
// arrives framed.
func TestConnRoundTrip(t *testing.T) {
	handled := make(chan cstaxml.Message, 1)
	var answers int
	var mu sync.Mutex
	var c *Conn
	c, app := pipe(t, Reader{
		Decode: func(b []byte) (cstaxml.Message, error) {
			if string(b) == "junk" {
				return nil, errors.New("junk")
			}
			return cstaxml.Decode(b)
		},
		SystemStatusAnswered: func() { mu.Lock(); answers++; mu.Unlock() },
		Delay:                func() time.Duration { return time.Millisecond },
		Handle:               func(_ cstaxml.InvokeID, m cstaxml.Message) { handled <- m },
	})
	f := cstaxml.NewReader(app, 0)
	write := func(id cstaxml.InvokeID, m cstaxml.Message) {
		b, err := cstaxml.Marshal(m, cstaxml.Ed3)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.Write(Frame(id, b)); err != nil {
			t.Fatal(err)
		}
	}
	write(1, &cstaxml.SystemStatusResponse{})
	write(2, &cstaxml.MonitorStop{MonitorCrossRefID: "7"})
	if m := <-handled; m.(*cstaxml.MonitorStop).MonitorCrossRefID != "7" {
		t.Fatalf("handled %#v", m)
	}
	if _, err := app.Write(Frame(3, []byte("junk"))); err != nil {
		t.Fatal(err)
	}
	id, payload, err := f.Read()
	if err != nil || id != 3 {
		t.Fatalf("error reply: %v %v", id, err)
	}
	if m, err := cstaxml.Decode(payload); err != nil {
		t.Fatal(err)
	} else if _, ok := m.(*cstaxml.ErrorCode); !ok {
		t.Fatalf("reply %#v", m)
	}
	c.SendMsg(cstaxml.EventInvokeID, &cstaxml.SystemStatus{SystemStatus: cstaxml.SystemStatusNormal})
	if id, _, err := f.Read(); err != nil || id != cstaxml.EventInvokeID {
		t.Fatalf("sent frame: %v %v", id, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if answers != 1 {
		t.Fatalf("%d SystemStatus answers", answers)
	}
}

// TestConnStalled: after SendStalled nothing more reaches the application.
func TestConnStalled(t *testing.T) {
	c, app := pipe(t, Reader{Decode: cstaxml.Decode, Handle: func(cstaxml.InvokeID, cstaxml.Message) {}})
	c.SendStalled([]byte{0, 0, 0x0f, 0xa0})
	c.SendMsg(cstaxml.EventInvokeID, &cstaxml.SystemStatus{SystemStatus: cstaxml.SystemStatusNormal})
	_ = app.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 64)
	n, _ := app.Read(buf)
	m, err := app.Read(buf[n:])
	if n+m != 4 {
		t.Fatalf("read %d bytes after a stall, want the 4 stalled ones (%v)", n+m, err)
	}
}
