package sipserver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/sipguard"
)

// startServer runs a Server with UDP and TCP listeners on 127.0.0.1 and
// the given limits; setup registers handlers before Start.
func startServer(t *testing.T, l Limits, setup func(*Server)) (*Server, string, string) {
	t.Helper()
	g := sipguard.New(sipguard.Options{Logger: slog.New(slog.DiscardHandler)})
	s, err := New(Options{
		Listeners: []config.Listener{{Scheme: "udp", Host: "127.0.0.1"}, {Scheme: "tcp", Host: "127.0.0.1"}},
		Guard:     g,
		Logger:    slog.New(slog.DiscardHandler),
		Limits:    l,
	})
	if err != nil {
		t.Fatal(err)
	}
	setup(s)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	var udp, tcp string
	for _, b := range s.Bound() {
		switch b.Scheme {
		case "udp":
			udp = b.Addr
		case "tcp":
			tcp = b.Addr
		}
	}
	return s, udp, tcp
}

// attacker dials addr from 127.0.0.9, as a client that is not the test.
func attacker(t *testing.T, network, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 2 * time.Second}
	if network == "udp" {
		d.LocalAddr = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 9)}
	} else {
		d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 9)}
	}
	c, err := d.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func request(method, transport, branch string) string {
	return method + " sip:example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/" + transport + " 127.0.0.9:5999;branch=" + branch + ";rport\r\n" +
		"From: <sip:u1@example.com>;tag=1\r\nTo: <sip:u1@example.com>\r\n" +
		"Call-ID: c-" + branch + "\r\nCSeq: 1 " + method + "\r\nMax-Forwards: 70\r\n" +
		"Contact: <sip:u1@127.0.0.9:5999>\r\nContent-Length: 0\r\n\r\n"
}

func readStatus(t *testing.T, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	return string(buf[:n])
}

func statusOf(msg string) string {
	line, _, _ := strings.Cut(msg, "\r\n")
	return line
}

// TestStatelessPoolFull fills the one worker and the one queue slot with
// REGISTERs whose handler blocks: the next REGISTER must get 503 with
// Retry-After at once instead of queueing behind them.
func TestStatelessPoolFull(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	s, udp, _ := startServer(t, Limits{Workers: 1, Queue: 1, RetryAfter: 7 * time.Second}, func(s *Server) {
		s.HandleStateless(sip.REGISTER, func(_ context.Context, req *sip.Request) *sip.Response {
			started <- struct{}{}
			<-release
			return sip.NewResponseFromRequest(req, 200, "OK", nil)
		})
	})
	c := attacker(t, "udp", udp)
	send := func(branch string) {
		if _, err := c.Write([]byte(request("REGISTER", "UDP", branch))); err != nil {
			t.Fatal(err)
		}
	}
	send("z9hG4bK-busy")
	<-started // the worker is taken
	send("z9hG4bK-queued")
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Queued != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	send("z9hG4bK-refused")
	res := readStatus(t, c)
	close(release)
	if !strings.HasPrefix(res, "SIP/2.0 503 ") || !strings.Contains(res, "Retry-After: 7\r\n") || !strings.Contains(res, "z9hG4bK-refused") {
		t.Fatalf("want 503 with Retry-After: 7 for the third REGISTER, got:\n%s", res)
	}
	if st := s.Stats(); st.Overloaded != 1 {
		t.Errorf("overloaded = %d, want 1", st.Overloaded)
	}
	for range 2 {
		if got := statusOf(readStatus(t, c)); got != "SIP/2.0 200 OK" {
			t.Errorf("held request answered %q after release", got)
		}
	}
}

// TestHandlersBounded holds MaxHandlers sipgo handlers: the next request
// gets 503 with Retry-After instead of another goroutine in the handler.
func TestHandlersBounded(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	s, _, tcp := startServer(t, Limits{MaxHandlers: 1}, func(s *Server) {
		s.Handle(sip.MESSAGE, func(req *sip.Request, tx sip.ServerTransaction) {
			started <- struct{}{}
			<-release
			_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		})
	})
	c := attacker(t, "tcp", tcp)
	if _, err := c.Write([]byte(request("MESSAGE", "TCP", "z9hG4bK-held"))); err != nil {
		t.Fatal(err)
	}
	<-started
	if _, err := c.Write([]byte(request("MESSAGE", "TCP", "z9hG4bK-more"))); err != nil {
		t.Fatal(err)
	}
	res := readStatus(t, c)
	if !strings.HasPrefix(res, "SIP/2.0 503 ") || !strings.Contains(res, "Retry-After: 5\r\n") {
		t.Fatalf("want 503 with Retry-After for the second MESSAGE, got:\n%s", res)
	}
	// An in-dialog request (a To tag) is not refused: calls must be able
	// to end while the limit is reached.
	inDialog := strings.Replace(request("BYE", "TCP", "z9hG4bK-bye"), "To: <sip:u1@example.com>", "To: <sip:u1@example.com>;tag=x", 1)
	if _, err := c.Write([]byte(inDialog)); err != nil {
		t.Fatal(err)
	}
	if got := statusOf(readStatus(t, c)); strings.HasPrefix(got, "SIP/2.0 503") {
		t.Fatalf("in-dialog BYE refused at the handler limit: %q", got)
	}
	close(release)
	if st := s.Stats(); st.Overloaded != 1 {
		t.Errorf("overloaded = %d, want 1", st.Overloaded)
	}
}

// TestPanicEndsTransactionNotProcess injects panicking handlers on both
// paths: the stateless REGISTER over UDP and a sipgo handler over TCP.
// Each request gets 500, the panics are counted, and the server goes on
// answering.
func TestPanicEndsTransactionNotProcess(t *testing.T) {
	s, udp, tcp := startServer(t, Limits{}, func(s *Server) {
		s.HandleStateless(sip.REGISTER, func(_ context.Context, req *sip.Request) *sip.Response {
			if strings.Contains(req.Via().Value(), "boom") {
				panic("injected")
			}
			return sip.NewResponseFromRequest(req, 200, "OK", nil)
		})
		s.Handle(sip.MESSAGE, func(req *sip.Request, tx sip.ServerTransaction) {
			if strings.Contains(req.Via().Value(), "boom") {
				var m map[string]int
				m["x"]++ // a nil map write, as a real bug would
			}
			_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		})
	})
	u := attacker(t, "udp", udp)
	tc := attacker(t, "tcp", tcp)
	for i := range 3 {
		if _, err := u.Write([]byte(request("REGISTER", "UDP", fmt.Sprintf("z9hG4bK-boom%d", i)))); err != nil {
			t.Fatal(err)
		}
		if got := statusOf(readStatus(t, u)); got != "SIP/2.0 500 Server Internal Error" {
			t.Fatalf("stateless panic answered %q, want 500", got)
		}
		if _, err := tc.Write([]byte(request("MESSAGE", "TCP", fmt.Sprintf("z9hG4bK-boom%d", i)))); err != nil {
			t.Fatal(err)
		}
		if got := statusOf(readStatus(t, tc)); got != "SIP/2.0 500 Server Internal Error" {
			t.Fatalf("handler panic answered %q, want 500", got)
		}
	}
	if _, err := u.Write([]byte(request("REGISTER", "UDP", "z9hG4bK-fine"))); err != nil {
		t.Fatal(err)
	}
	if got := statusOf(readStatus(t, u)); got != "SIP/2.0 200 OK" {
		t.Fatalf("after the panics: %q", got)
	}
	if _, err := tc.Write([]byte(request("MESSAGE", "TCP", "z9hG4bK-fine"))); err != nil {
		t.Fatal(err)
	}
	if got := statusOf(readStatus(t, tc)); got != "SIP/2.0 200 OK" {
		t.Fatalf("after the panics: %q", got)
	}
	if st := s.Stats(); st.Panics != 6 {
		t.Errorf("panics = %d, want 6", st.Panics)
	}
}

// TestFailuresNotCached floods distinct REGISTERs with bad credentials
// (answered 403) and unauthenticated ones (401): none of their answers
// is remembered, so the cache does not grow with the flood.
func TestFailuresNotCached(t *testing.T) {
	s, udp, _ := startServer(t, Limits{}, func(s *Server) {
		s.HandleStateless(sip.REGISTER, func(_ context.Context, req *sip.Request) *sip.Response {
			if req.GetHeader("Authorization") == nil {
				return sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
			}
			return sip.NewResponseFromRequest(req, 403, "Forbidden", nil)
		})
	})
	c := attacker(t, "udp", udp)
	for i := range 200 {
		msg := request("REGISTER", "UDP", fmt.Sprintf("z9hG4bK-f%d", i))
		if i%2 == 1 {
			msg = strings.Replace(msg, "Content-Length", `Authorization: Digest username="u1", realm="example.com", nonce="n", uri="sip:example.com", response="00000000000000000000000000000000"`+"\r\nContent-Length", 1)
		}
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		readStatus(t, c)
	}
	if st := s.Stats(); st.CacheEntries != 0 || st.CacheBytes != 0 {
		t.Fatalf("cache holds %d entries, %d bytes after a flood of refused REGISTERs; want none", st.CacheEntries, st.CacheBytes)
	}
}

// TestAnswerCacheBounds fills the cache past both bounds.
func TestAnswerCacheBounds(t *testing.T) {
	for _, tc := range []struct {
		name               string
		entries, bytes     int
		answer             int
		wantMaxEntries     int64
		wantSkippedAtLeast uint64
	}{
		{"entries", 100, 1 << 20, 10, 100, 900},
		{"bytes", 1 << 20, 10000, 1000, 10000 / (1000 + entryOverhead), 900},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newAnswerCache(time.Minute, tc.entries, tc.bytes)
			for i := range 1000 {
				k := fmt.Sprintf("key%04d", i)
				if _, st := c.begin(k); st != fresh {
					t.Fatalf("%s: %v", k, st)
				}
				c.finish(k, make([]byte, tc.answer))
				if e, b := c.entries.Load(), c.bytes.Load(); e > int64(tc.entries) || b > int64(tc.bytes) {
					t.Fatalf("after %d: %d entries, %d bytes; bounds %d, %d", i, e, b, tc.entries, tc.bytes)
				}
			}
			if e := c.entries.Load(); e == 0 || e > tc.wantMaxEntries {
				t.Errorf("entries = %d, want 1..%d", e, tc.wantMaxEntries)
			}
			if c.skipped.Load() < tc.wantSkippedAtLeast {
				t.Errorf("skipped = %d, want at least %d", c.skipped.Load(), tc.wantSkippedAtLeast)
			}
			// Forgetting gives the room back.
			for i := range 1000 {
				c.forget(fmt.Sprintf("key%04d", i))
			}
			if e, b := c.entries.Load(), c.bytes.Load(); e != 0 || b != 0 {
				t.Errorf("after forgetting all: %d entries, %d bytes", e, b)
			}
		})
	}
}

// TestRefusalsShedPastMaxTransactions floods INVITEs that are refused with
// 486 and never ACKed, over UDP: by default each transaction stays for
// Timer H, but past MaxTransactions the refusals end at once, so the
// transactions alive stay near the bound.
func TestRefusalsShedPastMaxTransactions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int
		check func(t *testing.T, st Stats)
	}{
		{"default keeps them for Timer H", 0, func(t *testing.T, st Stats) {
			if st.Transactions < 40 || st.Shed != 0 {
				t.Errorf("stats %+v: want the 50 refused transactions kept", st)
			}
		}},
		{"bound of 5", 5, func(t *testing.T, st Stats) {
			if st.Transactions > 6 || st.Shed < 40 {
				t.Errorf("stats %+v: want at most 6 alive, at least 40 shed", st)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, udp, _ := startServer(t, Limits{MaxTransactions: tc.limit}, func(s *Server) {
				s.Handle(sip.INVITE, func(req *sip.Request, tx sip.ServerTransaction) {
					_ = tx.Respond(sip.NewResponseFromRequest(req, 486, "Busy Here", nil))
				})
			})
			c := attacker(t, "udp", udp)
			for i := range 50 {
				if _, err := c.Write([]byte(request("INVITE", "UDP", fmt.Sprintf("z9hG4bK-inv%d", i)))); err != nil {
					t.Fatal(err)
				}
				if got := statusOf(readStatus(t, c)); !strings.HasPrefix(got, "SIP/2.0 486") {
					t.Fatalf("INVITE %d: %q", i, got)
				}
			}
			tc.check(t, s.Stats())
		})
	}
}
