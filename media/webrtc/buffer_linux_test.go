//go:build linux

package webrtc_test

import (
	"bytes"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-gw/switchboard/media/webrtc"
)

// syncBuffer is a bytes.Buffer for a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestICESocketBufferPastRmemMax asks for an ICE socket buffer larger
// than net.core.rmem_max: the operator must either get it (the process
// may force it: CAP_NET_ADMIN) or be told in the log that it was capped,
// never silently get less (the socket every browser's media arrives on
// is the first of the gateway's to overflow).
func TestICESocketBufferPastRmemMax(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Skip("no /proc/sys/net/core/rmem_max:", err)
	}
	rmemMax, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	asked := rmemMax + 1<<20
	var logs syncBuffer
	e, err := webrtc.New(webrtc.Config{ListenIP: loopback, Port: webrtc.PortAny, SocketBuffer: asked,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	got := e.ReadBuffer()
	warned := strings.Contains(logs.String(), "net.core.rmem_max")
	switch {
	case got >= asked && warned:
		t.Errorf("granted %d bytes of %d asked, yet warned: %s", got, asked, logs.String())
	case got < asked && !warned:
		t.Errorf("granted %d bytes of %d asked (rmem_max %d) without a warning; log: %q", got, asked, rmemMax, logs.String())
	}
	t.Logf("rmem_max %d, asked %d, granted %d, warned %v", rmemMax, asked, got, warned)
}
