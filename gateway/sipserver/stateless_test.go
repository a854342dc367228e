package sipserver

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/sipguard"
)

// startUDP runs a Server with one UDP listener on 127.0.0.1 and REGISTER
// answered by r; it returns the listener address.
func startUDP(t *testing.T, r Responder) string {
	t.Helper()
	g := sipguard.New(sipguard.Options{Logger: slog.New(slog.DiscardHandler)})
	s, err := New(Options{
		Listeners: []config.Listener{{Scheme: "udp", Host: "127.0.0.1", Port: 0}},
		Guard:     g,
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	s.HandleStateless(sip.REGISTER, r)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s.Bound()[0].Addr
}

func register(branch, auth string) string {
	msg := "REGISTER sip:example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=" + branch + ";rport\r\n" +
		"From: <sip:u1@example.com>;tag=1\r\nTo: <sip:u1@example.com>\r\n" +
		"Call-ID: c1\r\nCSeq: 1 REGISTER\r\nMax-Forwards: 70\r\n"
	if auth != "" {
		msg += "Authorization: " + auth + "\r\n"
	}
	return msg + "Contact: <sip:u1@127.0.0.1:5999>\r\nContent-Length: 0\r\n\r\n"
}

func exchange(t *testing.T, c net.Conn, msg string) string {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	return string(buf[:n])
}

// TestStatelessRetransmissions checks the server-transaction behaviour of
// the stateless path (RFC 3261 §17.2.2): an answered request is answered
// again from the cache without running the handler twice, while a
// challenged one is simply challenged again.
func TestStatelessRetransmissions(t *testing.T) {
	var calls atomic.Int32
	addr := startUDP(t, func(_ context.Context, req *sip.Request) *sip.Response {
		n := calls.Add(1)
		if req.GetHeader("Authorization") == nil {
			return sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
		}
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		res.AppendHeader(sip.NewHeader("X-Call", string(rune('0'+n))))
		return res
	})
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	first := exchange(t, c, register("z9hG4bKaaa", ""))
	again := exchange(t, c, register("z9hG4bKaaa", ""))
	if !strings.HasPrefix(first, "SIP/2.0 401") || !strings.HasPrefix(again, "SIP/2.0 401") || calls.Load() != 2 {
		t.Fatalf("challenge retransmission: calls=%d\n%s\n%s", calls.Load(), first, again)
	}

	ok1 := exchange(t, c, register("z9hG4bKbbb", `Digest username="u1"`))
	ok2 := exchange(t, c, register("z9hG4bKbbb", `Digest username="u1"`))
	if ok1 != ok2 || !strings.HasPrefix(ok1, "SIP/2.0 200") {
		t.Fatalf("retransmitted answer differs:\n%s\n%s", ok1, ok2)
	}
	if calls.Load() != 3 {
		t.Fatalf("handler ran %d times, want 3 (the retransmission is answered from the cache)", calls.Load())
	}
	if !strings.Contains(ok1, "received=127.0.0.1") || !strings.Contains(ok1, "rport=") {
		t.Errorf("Via lacks received/rport (RFC 3581):\n%s", ok1)
	}
}

func TestAnswerCacheGenerations(t *testing.T) {
	c := newAnswerCache(time.Second, 100, 1<<20)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	c.swapped = now
	if _, st := c.begin("k"); st != fresh {
		t.Fatal("new key not fresh")
	}
	if _, st := c.begin("k"); st != inFlight {
		t.Fatal("second begin must see the request in flight")
	}
	c.finish("k", []byte("answer"))
	now = now.Add(1500 * time.Millisecond) // one swap: still in the old generation
	if a, st := c.begin("k"); st != answered || string(a) != "answer" {
		t.Fatalf("after one swap: %q %v", a, st)
	}
	now = now.Add(2 * time.Second) // two swaps: gone
	if _, st := c.begin("k"); st != fresh {
		t.Fatal("entry outlived two generations")
	}
}
