package turn

import (
	"bytes"
	"testing"
)

// TestFrameDatagramChannels: ChannelData over DTLS on every channel pion
// binds (0x4000-0x7FFF: RFC 5766's range, which coturn's uclient picks
// from, RFC 8656's 0x4000-0x4FFF within it) is one message, padded or
// not; the reserved 0x8000-0xFFFF is not ChannelData.
func TestFrameDatagramChannels(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want []byte // nil: dropped
	}{
		{"0x4000", []byte{0x40, 0x00, 0, 2, 1, 2}, []byte{0x40, 0x00, 0, 2, 1, 2}},
		{"0x4FFF padded", []byte{0x4f, 0xff, 0, 2, 1, 2, 0, 0}, []byte{0x4f, 0xff, 0, 2, 1, 2}},
		{"0x5000 (RFC 5766)", []byte{0x50, 0x00, 0, 1, 9}, []byte{0x50, 0x00, 0, 1, 9}},
		{"0x7260 padded (RFC 5766)", []byte{0x72, 0x60, 0, 3, 1, 2, 3, 0}, []byte{0x72, 0x60, 0, 3, 1, 2, 3}},
		{"0x7FFF", []byte{0x7f, 0xff, 0, 0}, []byte{0x7f, 0xff, 0, 0}},
		{"0x8000 reserved", []byte{0x80, 0x00, 0, 1, 9}, nil},
		{"0xC000 reserved", []byte{0xc0, 0x00, 0, 1, 9}, nil},
		{"0x7260 truncated", []byte{0x72, 0x60, 0, 9, 1}, nil},
		{"0x7260 past its padding", []byte{0x72, 0x60, 0, 1, 1, 0, 0, 0, 0}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := frameDatagram(tc.in)
			if tc.want == nil {
				if ok {
					t.Errorf("framed %x from %x, want it dropped", got, tc.in)
				}
				return
			}
			if !ok || !bytes.Equal(got, tc.want) {
				t.Errorf("framed %x %v, want %x", got, ok, tc.want)
			}
		})
	}
}
