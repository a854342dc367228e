package attendant

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// Limits of an event stream connection (RFC 6455). Clients only listen:
// what they send is control frames and, at most, a few small messages.
const (
	wsWriteTimeout = 10 * time.Second
	wsPingInterval = 30 * time.Second
	// wsMaxFrame is the largest frame a client may send.
	wsMaxFrame = 4 << 10
	// wsMaxRate is how many frames a client may send per second before it
	// is closed as a flood (RFC 6455 §7.4.1, 1008).
	wsMaxRate = 50
	// wsMaxBatch bounds the messages written before one flush.
	wsMaxBatch = 256
)

// Close codes (RFC 6455 §7.4.1; 1013 "try again later" is IANA's).
const statusTryAgainLater ws.StatusCode = 1013

// ServeStream runs the event stream of one client on conn (upgraded to
// WebSocket, server side) until the client goes, the model drops it or
// ctx ends; it closes conn and sub.
func ServeStream(ctx context.Context, conn net.Conn, br *bufio.Reader, sub *Subscription) error {
	defer sub.Close()
	defer conn.Close()
	var wmu sync.Mutex
	bw := bufio.NewWriterSize(conn, 32<<10)
	// deadline moves the write deadline on, at most once a second: it is
	// then 9-10 s ahead, and a burst does not pay a timer update per
	// flush. wmu is held.
	var moved time.Time
	deadline := func() {
		if now := time.Now(); now.Sub(moved) >= time.Second {
			_ = conn.SetWriteDeadline(now.Add(wsWriteTimeout))
			moved = now
		}
	}
	write := func(f ws.Frame) error {
		wmu.Lock()
		defer wmu.Unlock()
		deadline()
		if err := ws.WriteFrame(bw, f); err != nil {
			return err
		}
		return bw.Flush()
	}
	// writeBatch writes b and whatever else is queued already, then
	// flushes once: one system call for a burst, not one per message.
	writeBatch := func(b []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		deadline()
		for n := 0; ; n++ {
			if err := ws.WriteFrame(bw, ws.NewTextFrame(b)); err != nil {
				return err
			}
			if n >= wsMaxBatch {
				break
			}
			select {
			case b = <-sub.C:
				continue
			default:
			}
			break
		}
		return bw.Flush()
	}
	closeWith := func(code ws.StatusCode, reason string) {
		_ = write(ws.NewCloseFrame(ws.NewCloseFrameBody(code, reason)))
	}
	readErr := make(chan error, 1)
	go func() { readErr <- readClient(conn, br, write) }()
	ping := time.NewTicker(wsPingInterval)
	defer ping.Stop()
	for {
		select {
		case b := <-sub.C:
			if err := writeBatch(b); err != nil {
				return err
			}
			continue
		default:
		}
		select {
		case b := <-sub.C:
			if err := writeBatch(b); err != nil {
				return err
			}
		case <-sub.Done:
			err := sub.Err()
			code := ws.StatusGoingAway
			if errors.Is(err, ErrSlowReader) {
				code = statusTryAgainLater
			}
			closeWith(code, err.Error())
			return err
		case err := <-readErr:
			var ce closeError
			if errors.As(err, &ce) {
				closeWith(ce.code, ce.reason)
			}
			return err
		case <-ping.C:
			if err := write(ws.NewPingFrame(nil)); err != nil {
				return err
			}
		case <-ctx.Done():
			closeWith(ws.StatusGoingAway, "server shutting down")
			return ctx.Err()
		}
	}
}

type closeError struct {
	code   ws.StatusCode
	reason string
}

func (e closeError) Error() string { return e.reason }

// readClient reads the client's frames until it closes: pings are
// answered, data is dropped; oversized frames and floods end the stream.
func readClient(conn net.Conn, br *bufio.Reader, write func(ws.Frame) error) error {
	window, n := time.Now(), 0
	for {
		_ = conn.SetReadDeadline(time.Now().Add(3 * wsPingInterval))
		h, err := ws.ReadHeader(br)
		if err != nil {
			return err
		}
		if h.Length > wsMaxFrame {
			return closeError{ws.StatusMessageTooBig, "frame too large"}
		}
		if !h.Masked { // RFC 6455 §5.1: a client masks every frame
			return closeError{ws.StatusProtocolError, "unmasked client frame"}
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(br, payload); err != nil {
			return err
		}
		ws.Cipher(payload, h.Mask, 0)
		if now := time.Now(); now.Sub(window) > time.Second {
			window, n = now, 0
		}
		if n++; n > wsMaxRate {
			return closeError{ws.StatusPolicyViolation, "too many frames"}
		}
		switch h.OpCode {
		case ws.OpPing:
			if err := write(ws.NewPongFrame(payload)); err != nil {
				return err
			}
		case ws.OpClose:
			return closeError{ws.StatusNormalClosure, ""}
		}
	}
}
