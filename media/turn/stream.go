package turn

import (
	"encoding/binary"
	"errors"
)

// errBadFraming ends a TCP/TLS connection whose bytes are neither STUN
// messages nor ChannelData (RFC 8656 §12.5): past such bytes nothing
// further on the stream can be framed.
var errBadFraming = errors.New("turn: stream is not STUN or ChannelData")

// streamMeter follows the framing of a TURN stream over TCP or TLS as its
// bytes pass, to count the STUN requests in it for the source's rate.
// STUN: a 20-byte header whose length excludes it (RFC 8489 §5), a multiple
// of 4. ChannelData: 4 bytes of channel and length, the data padded to a
// multiple of 4 over streams (RFC 8656 §12.5).
type streamMeter struct {
	hdr    [4]byte
	hdrN   int
	remain int // bytes of the current message still to pass
	bad    bool
	// After a ConnectionBind request the stream carries the peer's raw
	// bytes (RFC 6062 §5.4): nothing is framed from then on.
	rawNext, raw bool
}

// typeConnectionBindRequest is the ConnectionBind request's type (RFC 6062 §6.1).
const typeConnectionBindRequest = 0x000B

// feed takes the next bytes of the stream and returns how many STUN
// requests (or other non-indication STUN messages) began in them.
func (m *streamMeter) feed(p []byte) (requests int, err error) {
	if m.bad {
		return 0, errBadFraming
	}
	if m.raw {
		return 0, nil
	}
	for len(p) > 0 {
		if m.raw {
			return requests, nil
		}
		if m.remain > 0 {
			k := min(m.remain, len(p))
			m.remain -= k
			p = p[k:]
			if m.remain == 0 && m.rawNext {
				m.raw = true
			}
			continue
		}
		k := copy(m.hdr[m.hdrN:], p)
		m.hdrN += k
		p = p[k:]
		if m.hdrN < 4 {
			break
		}
		m.hdrN = 0
		length := int(binary.BigEndian.Uint16(m.hdr[2:4]))
		switch m.hdr[0] >> 6 {
		case 0: // STUN
			if length%4 != 0 {
				m.bad = true
				return requests, errBadFraming
			}
			m.remain = 16 + length
			if isRequestOrJunk(m.hdr[:]) {
				requests++
			}
			m.rawNext = binary.BigEndian.Uint16(m.hdr[0:2]) == typeConnectionBindRequest
		case 1: // ChannelData
			// 0x4000-0x7FFF: RFC 8656 §12 narrowed channels to 0x4FFF,
			// but RFC 5766 clients (coturn's uclient) use the whole range.
			m.remain = (length + 3) &^ 3
		default:
			m.bad = true
			return requests, errBadFraming
		}
	}
	return requests, nil
}
