package sipguard

import "encoding/binary"

// WebSocket opcodes and close codes (RFC 6455 §5.2, §7.4.1).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA

	closeNormal        = 1000
	closeProtocolError = 1002
	closeTooBig        = 1009
)

// frameHeader is a parsed RFC 6455 §5.2 base frame header.
type frameHeader struct {
	fin    bool
	rsv    byte
	op     byte
	masked bool
	mask   [4]byte
	length uint64
	size   int // header length in bytes
}

// parseFrameHeader parses the header at the start of b. ok is false when b
// is too short; valid is false for an unrepresentable length.
func parseFrameHeader(b []byte) (h frameHeader, ok, valid bool) {
	if len(b) < 2 {
		return h, false, true
	}
	h.fin = b[0]&0x80 != 0
	h.rsv = (b[0] >> 4) & 0x7
	h.op = b[0] & 0x0f
	h.masked = b[1]&0x80 != 0
	n := 2
	switch l := b[1] & 0x7f; l {
	case 126:
		if len(b) < 4 {
			return h, false, true
		}
		h.length = uint64(binary.BigEndian.Uint16(b[2:4]))
		n = 4
	case 127:
		if len(b) < 10 {
			return h, false, true
		}
		h.length = binary.BigEndian.Uint64(b[2:10])
		if h.length>>63 != 0 { // RFC 6455 §5.2: the MSB MUST be 0
			return h, true, false
		}
		n = 10
	default:
		h.length = uint64(l)
	}
	if h.masked {
		if len(b) < n+4 {
			return h, false, true
		}
		copy(h.mask[:], b[n:n+4])
		n += 4
	}
	h.size = n
	return h, true, true
}

// appendFrame appends a final frame with payload p. A masked frame gets
// the all-zero masking key, valid per RFC 6455 §5.3 and leaving the
// payload unchanged: sipgo's server-side reader (gobwas wsutil.Reader)
// refuses unmasked frames.
func appendFrame(dst []byte, op byte, masked bool, p []byte) []byte {
	dst = append(dst, 0x80|op)
	var m byte
	if masked {
		m = 0x80
	}
	switch n := len(p); {
	case n < 126:
		dst = append(dst, m|byte(n))
	case n <= 0xffff:
		dst = append(dst, m|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, m|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	if masked {
		dst = append(dst, 0, 0, 0, 0)
	}
	return append(dst, p...)
}

// unmask applies a masking key (RFC 6455 §5.3).
func unmask(p []byte, key [4]byte) {
	if key == [4]byte{} {
		return
	}
	for i := range p {
		p[i] ^= key[i&3]
	}
}

// closePayload builds a close frame body with a status code.
func closePayload(code int) []byte {
	return []byte{byte(code >> 8), byte(code)}
}

// serverTextFrame frames a SIP message the guard sends to a client.
func serverTextFrame(p []byte) []byte { return appendFrame(nil, opText, false, p) }
