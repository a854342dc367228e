package turn

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/pion/stun/v4"
)

func channelData(ch uint16, n int) []byte {
	b := make([]byte, 4+(n+3)&^3)
	binary.BigEndian.PutUint16(b[0:2], ch)
	binary.BigEndian.PutUint16(b[2:4], uint16(n)) //nolint:gosec // small
	return b
}

func TestStreamMeter(t *testing.T) {
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.NewSoftware("x")).Raw
	ind := stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodSend, stun.ClassIndication)).Raw
	bind := stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodConnectionBind, stun.ClassRequest)).Raw
	join := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	for _, tc := range []struct {
		name string
		in   []byte
		reqs int
		bad  bool
	}{
		{"two requests", join(req, req), 2, false},
		{"indications and channel data are not counted", join(ind, channelData(0x4000, 5), ind, req), 1, false},
		{"odd channel data length is padded", join(channelData(0x4001, 1), req), 1, false},
		{"a TLS ClientHello on the TCP port", []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01}, 0, true},
		{"an RFC 5766 channel number", join(channelData(0x7FFE, 4), req), 1, false},
		{"neither STUN nor ChannelData", []byte{0x80, 0, 0, 0}, 0, true},
		{"stun length not a multiple of 4", []byte{0, 1, 0, 3, 0x21, 0x12, 0xa4, 0x42}, 0, true},
		{"raw bytes after ConnectionBind (RFC 6062)", join(bind, []byte("GET / HTTP/1.1\r\n\r\n"), req), 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, chunk := range []int{1, 3, 7, len(tc.in)} {
				var m streamMeter
				reqs, bad := 0, false
				for p := tc.in; len(p) > 0; {
					k := min(chunk, len(p))
					n, err := m.feed(p[:k])
					reqs += n
					if err != nil {
						bad = true
						break
					}
					p = p[k:]
				}
				if reqs != tc.reqs || bad != tc.bad {
					t.Errorf("chunks of %d: %d requests, bad %v; want %d, %v", chunk, reqs, bad, tc.reqs, tc.bad)
				}
			}
		})
	}
}

// FuzzStreamMeter: how a stream is cut into reads must not change what the
// meter counts or whether it refuses the stream.
func FuzzStreamMeter(f *testing.F) {
	f.Add(stun.MustBuild(stun.TransactionID, stun.BindingRequest).Raw, uint8(3))
	f.Add(channelData(0x4000, 7), uint8(1))
	f.Add([]byte{0x80, 0, 0, 0}, uint8(2))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		var whole streamMeter
		wantN, wantErr := whole.feed(in)
		var m streamMeter
		c := int(chunk%16) + 1
		n, gotErr := 0, error(nil)
		for p := in; len(p) > 0 && gotErr == nil; {
			k := min(c, len(p))
			var r int
			r, gotErr = m.feed(p[:k])
			n += r
			p = p[k:]
		}
		if n != wantN || (gotErr != nil) != (wantErr != nil) {
			t.Fatalf("in reads of %d: %d requests, err %v; at once: %d, %v", c, n, gotErr, wantN, wantErr)
		}
	})
}
