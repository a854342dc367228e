package webrtc_test

import (
	"runtime"
	"testing"

	"github.com/switchboard-gw/switchboard/media/webrtc"
)

// TestICEReaders: the ICE port's sockets as configured (Linux shares the
// port with SO_REUSEPORT; elsewhere one socket), the default GOMAXPROCS
// up to 8, and counts out of range refused.
func TestICEReaders(t *testing.T) {
	def := min(runtime.GOMAXPROCS(0), 8)
	tests := []struct {
		readers int
		want    int // sockets; 0: New fails
	}{
		{0, def},
		{1, 1},
		{3, 3},
		{-1, 0},
		{65, 0},
	}
	for _, tt := range tests {
		e, err := webrtc.New(webrtc.Config{ListenIP: loopback, Port: webrtc.PortAny, ICEReaders: tt.readers})
		if tt.want == 0 {
			if err == nil {
				_ = e.Close()
				t.Errorf("ICEReaders %d: New did not fail", tt.readers)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ICEReaders %d: %v", tt.readers, err)
		}
		got := e.ICEReaders()
		_ = e.Close()
		if runtime.GOOS != "linux" {
			tt.want = 1
		}
		if got != tt.want {
			t.Errorf("ICEReaders %d: %d sockets, want %d", tt.readers, got, tt.want)
		}
	}
}
