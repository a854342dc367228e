package ctisim

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/csta"
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
	c := NewConn(sw, func(m csta.Message) ([]byte, error) { return csta.Marshal(m, csta.Ed3.Namespace()) },
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
	handled := make(chan csta.Message, 1)
	var answers int
	var mu sync.Mutex
	var c *Conn
	c, app := pipe(t, Reader{
		Decode: func(b []byte) (csta.Message, error) {
			if string(b) == "junk" {
				return nil, errors.New("junk")
			}
			return csta.Decode(b)
		},
		SystemStatusAnswered: func() { mu.Lock(); answers++; mu.Unlock() },
		Delay:                func() time.Duration { return time.Millisecond },
		Handle:               func(_ csta.InvokeID, m csta.Message) { handled <- m },
	})
	f := csta.NewHeaderFramer(app)
	write := func(id csta.InvokeID, m csta.Message) {
		b, err := csta.Marshal(m, csta.Ed3.Namespace())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.Write(Frame(id, b)); err != nil {
			t.Fatal(err)
		}
	}
	write(1, &csta.SystemStatusResponse{})
	write(2, &csta.MonitorStop{MonitorCrossRefID: "7"})
	if m := <-handled; m.(*csta.MonitorStop).MonitorCrossRefID != "7" {
		t.Fatalf("handled %#v", m)
	}
	if _, err := app.Write(Frame(3, []byte("junk"))); err != nil {
		t.Fatal(err)
	}
	fr, err := f.ReadFrame()
	if err != nil || fr.InvokeID != 3 {
		t.Fatalf("error reply: %+v %v", fr, err)
	}
	if m, err := csta.Decode(fr.Payload); err != nil {
		t.Fatal(err)
	} else if _, ok := m.(*csta.CSTAErrorCode); !ok {
		t.Fatalf("reply %#v", m)
	}
	c.SendMsg(csta.EventInvokeID, &csta.SystemStatus{SystemStatus: csta.SystemStatusNormal})
	if fr, err := f.ReadFrame(); err != nil || fr.InvokeID != csta.EventInvokeID {
		t.Fatalf("sent frame: %+v %v", fr, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if answers != 1 {
		t.Fatalf("%d SystemStatus answers", answers)
	}
}

// TestConnStalled: after SendStalled nothing more reaches the application.
func TestConnStalled(t *testing.T) {
	c, app := pipe(t, Reader{Decode: csta.Decode, Handle: func(csta.InvokeID, csta.Message) {}})
	c.SendStalled([]byte{0, 0, 0x0f, 0xa0})
	c.SendMsg(csta.EventInvokeID, &csta.SystemStatus{SystemStatus: csta.SystemStatusNormal})
	_ = app.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 64)
	n, _ := app.Read(buf)
	m, err := app.Read(buf[n:])
	if n+m != 4 {
		t.Fatalf("read %d bytes after a stall, want the 4 stalled ones (%v)", n+m, err)
	}
}
