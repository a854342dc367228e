package sipserver

import "testing"

// TestBoundAddrPort: every listener reports its real address parsed too
// (routing a call's requests to a listener reads it, parsing nothing).
func TestBoundAddrPort(t *testing.T) {
	s, _, _ := startServer(t, Limits{}, func(*Server) {})
	bs := s.Bound()
	if len(bs) != 2 {
		t.Fatalf("bound %+v, want udp and tcp", bs)
	}
	for _, b := range bs {
		if !b.AddrPort.IsValid() || b.AddrPort.String() != b.Addr || b.AddrPort.Port() == 0 {
			t.Errorf("%s listener: Addr %q, AddrPort %v", b.Scheme, b.Addr, b.AddrPort)
		}
	}
}
