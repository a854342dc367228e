package csta

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestClientLateResponse: a MonitorStart the client gave up on is
// answered late, once with its own invoke ID free (no request waits) and
// once after a new request reused that ID. Both times OnError gets a
// *LateResponse holding the MonitorStartResponse, so the driver can stop
// the monitor it made; the request that got the stray answer fails.
// Before, the first was reported without the message and the second
// only failed the innocent request.
func TestClientLateResponse(t *testing.T) {
	late := make(chan *LateResponse, 4)
	c, sw := newPair(t, ClientConfig{OnError: func(err error) {
		var lr *LateResponse
		if errors.As(err, &lr) && errors.Is(err, ErrUnexpectedResponse) {
			late <- lr
		}
	}})
	ids := make(chan InvokeID, 4)
	go sw.serve(func(id InvokeID, m Message) { ids <- id })
	ctx := context.Background()
	for round, reuse := range []bool{false, true} {
		tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		_, err := c.Call(tctx, &MonitorStart{MonitorObject: MonitorObject{DeviceObject: &DeviceID{Value: "201"}}})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("round %d: %v", round, err)
		}
		id := <-ids
		xref := "x" + id.String()
		if reuse {
			// The next request reuses the ID (the allocator wraps after
			// 9998 IDs; set it back to show it).
			c.mu.Lock()
			c.next = id
			c.mu.Unlock()
			done := make(chan error, 1)
			go func() { _, err := c.Call(ctx, &HoldCall{}); done <- err }()
			if got := <-ids; got != id {
				t.Fatalf("reused ID %s, want %s", got, id)
			}
			sw.send(id, &MonitorStartResponse{MonitorCrossRefID: xref})
			if err := <-done; !errors.Is(err, ErrUnexpectedResponse) {
				t.Fatalf("hold got %v", err)
			}
		} else {
			sw.send(id, &MonitorStartResponse{MonitorCrossRefID: xref})
		}
		select {
		case lr := <-late:
			if r, ok := lr.Msg.(*MonitorStartResponse); !ok || r.MonitorCrossRefID != xref {
				t.Fatalf("round %d: late %+v", round, lr.Msg)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: no late response reported", round)
		}
	}
}
