package srtpmux

import "encoding/binary"

// hello is what a DTLS ServerHello (RFC 6347 §4.2, RFC 5246 §7.4.1.3)
// tells the fast path: the server random, the cipher suite and the SRTP
// protection profile of use_srtp (RFC 5764 §4.1.1).
type hello struct {
	random  [32]byte
	suite   uint16
	profile uint16
	ok      bool
}

const (
	recordHeader     = 13 // type, version, epoch, sequence number, length (RFC 6347 §4.1)
	handshakeHeader  = 12 // type, length, message_seq, fragment offset and length (§4.2.2)
	contentHandshake = 22
	typeServerHello  = 2
	extUseSRTP       = 14
)

// parseServerHello finds a ServerHello in a datagram of DTLS records
// (several may share one datagram) and reads it. Only an unencrypted
// (epoch 0), unfragmented one counts.
func parseServerHello(b []byte) (hello, bool) {
	for len(b) >= recordHeader {
		n := int(binary.BigEndian.Uint16(b[11:13]))
		if len(b) < recordHeader+n {
			return hello{}, false
		}
		rec := b[recordHeader : recordHeader+n]
		epoch := binary.BigEndian.Uint16(b[3:5])
		if b[0] == contentHandshake && epoch == 0 && len(rec) >= handshakeHeader && rec[0] == typeServerHello {
			length := int(rec[1])<<16 | int(rec[2])<<8 | int(rec[3])
			off := int(rec[6])<<16 | int(rec[7])<<8 | int(rec[8])
			flen := int(rec[9])<<16 | int(rec[10])<<8 | int(rec[11])
			if off == 0 && flen == length && len(rec) >= handshakeHeader+length {
				return readServerHello(rec[handshakeHeader : handshakeHeader+length])
			}
			return hello{}, false
		}
		b = b[recordHeader+n:]
	}
	return hello{}, false
}

// readServerHello reads a ServerHello body: version(2) random(32)
// session_id<0..32> cipher_suite(2) compression(1) extensions<0..2^16-1>.
func readServerHello(m []byte) (hello, bool) {
	var h hello
	if len(m) < 2+32+1 {
		return h, false
	}
	copy(h.random[:], m[2:34])
	m = m[34:]
	sid := int(m[0])
	if sid > 32 || len(m) < 1+sid+3 {
		return h, false
	}
	m = m[1+sid:]
	h.suite = binary.BigEndian.Uint16(m[0:2])
	m = m[3:]
	if len(m) < 2 {
		return h, false // no extensions: no use_srtp, no SRTP
	}
	el := int(binary.BigEndian.Uint16(m[0:2]))
	if len(m) < 2+el {
		return h, false
	}
	ext := m[2 : 2+el]
	for len(ext) >= 4 {
		t, l := binary.BigEndian.Uint16(ext[0:2]), int(binary.BigEndian.Uint16(ext[2:4]))
		if len(ext) < 4+l {
			return h, false
		}
		if t == extUseSRTP {
			// SRTPProtectionProfiles<2..2^16-1> (one in a ServerHello), MKI
			v := ext[4 : 4+l]
			if len(v) < 4 || binary.BigEndian.Uint16(v[0:2]) != 2 {
				return h, false
			}
			h.profile = binary.BigEndian.Uint16(v[2:4])
			h.ok = true
			return h, true
		}
		ext = ext[4+l:]
	}
	return h, false
}
