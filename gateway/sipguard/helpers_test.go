package sipguard

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

func TestMain(m *testing.M) {
	// What the gateway must set so sipgo reads whole 64 KiB messages.
	sip.TransportBufferReadSize = 65535
	os.Exit(m.Run())
}

// quietLogger keeps test output readable; warnings still show.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// checkLeaks fails the test if goroutines started during it outlive it.
// Register it first so its cleanup runs last.
func checkLeaks(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d before, %d after\n%s", before, n, buf)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// sipServer is a real sipgo server answering OPTIONS and REGISTER with 200.
type sipServer struct {
	ua   *sipgo.UserAgent
	srv  *sipgo.Server
	reqs atomic.Int64
}

func newSIPServer(t *testing.T) *sipServer {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("test-gw"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	s := &sipServer{ua: ua, srv: srv}
	ok := func(req *sip.Request, tx sip.ServerTransaction) {
		s.reqs.Add(1)
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	}
	srv.OnOptions(ok)
	srv.OnRegister(ok)
	t.Cleanup(func() { _ = ua.Close() })
	return s
}

var seq atomic.Int64

// sipReq builds a request. transport is the Via transport; extra lines end
// in CRLF.
func sipReq(method, transport, extra, body string) string {
	n := seq.Add(1)
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:gw.example.com SIP/2.0\r\n", method)
	fmt.Fprintf(&b, "Via: SIP/2.0/%s 127.0.0.1:5099;branch=z9hG4bK-t%d;rport\r\n", transport, n)
	b.WriteString("Max-Forwards: 70\r\n")
	b.WriteString("To: <sip:alice@gw.example.com>\r\n")
	fmt.Fprintf(&b, "From: <sip:alice@gw.example.com>;tag=f%d\r\n", n)
	fmt.Fprintf(&b, "Call-ID: call-%d@test\r\n", n)
	fmt.Fprintf(&b, "CSeq: %d %s\r\n", n, method)
	b.WriteString("Contact: <sip:alice@127.0.0.1:5099>\r\n")
	b.WriteString(extra)
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

// firstLine returns the start line of a SIP message.
func firstLine(msg string) string {
	line, _, _ := strings.Cut(msg, "\r\n")
	return line
}

// readSIP reads one SIP message (with Content-Length) from a stream.
func readSIP(t *testing.T, c net.Conn, br *bufio.Reader) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	var b strings.Builder
	cl := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v (got %q)", err, b.String())
		}
		if b.Len() == 0 && line == "\r\n" {
			continue
		}
		b.WriteString(line)
		if strings.HasPrefix(strings.ToLower(line), "content-length:") {
			fmt.Sscanf(strings.TrimSpace(line[len("content-length:"):]), "%d", &cl)
		}
		if line == "\r\n" {
			break
		}
	}
	body := make([]byte, cl)
	if _, err := io.ReadFull(br, body); err != nil {
		t.Fatal(err)
	}
	b.Write(body)
	return b.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
