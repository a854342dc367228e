package srtpmux

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// serverHello builds a datagram: an optional record before, then a
// ServerHello record (epoch 0) with the given fields and extensions.
func serverHello(random [32]byte, sid []byte, suite uint16, exts []byte, lead []byte) []byte {
	body := []byte{0xfe, 0xfd}
	body = append(body, random[:]...)
	body = append(body, byte(len(sid)))
	body = append(body, sid...)
	body = binary.BigEndian.AppendUint16(body, suite)
	body = append(body, 0) // compression: null
	body = binary.BigEndian.AppendUint16(body, uint16(len(exts)))
	body = append(body, exts...)
	hs := []byte{typeServerHello, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body)), 0, 1, 0, 0, 0,
		byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}
	hs = append(hs, body...)
	rec := []byte{contentHandshake, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1}
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(hs)))
	return append(append(append([]byte(nil), lead...), rec...), hs...)
}

func useSRTP(profile uint16) []byte {
	e := binary.BigEndian.AppendUint16(nil, extUseSRTP)
	e = binary.BigEndian.AppendUint16(e, 5)
	e = binary.BigEndian.AppendUint16(e, 2)
	e = binary.BigEndian.AppendUint16(e, profile)
	return append(e, 0) // no MKI
}

func TestParseServerHello(t *testing.T) {
	var r [32]byte
	for i := range r {
		r[i] = byte(i)
	}
	ems := []byte{0, 23, 0, 0} // extended_master_secret, empty
	cases := []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"plain", serverHello(r, nil, 0xc02b, useSRTP(7), nil), true},
		{"session id, other extension first", serverHello(r, bytes.Repeat([]byte{9}, 32), 0xc02b, append(ems, useSRTP(1)...), nil), true},
		{"after a HelloVerifyRequest-sized record", serverHello(r, nil, 0xc02b, useSRTP(7), []byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0}), true},
		{"no use_srtp", serverHello(r, nil, 0xc02b, ems, nil), false},
		{"session id too long", serverHello(r, bytes.Repeat([]byte{9}, 33), 0xc02b, useSRTP(7), nil), false},
		{"truncated", serverHello(r, nil, 0xc02b, useSRTP(7), nil)[:60], false},
		{"empty", nil, false},
		{"application data", []byte{23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, false},
	}
	for _, c := range cases {
		h, ok := parseServerHello(c.b)
		if ok != c.ok {
			t.Errorf("%s: ok %v, want %v", c.name, ok, c.ok)
			continue
		}
		if ok && (h.random != r || h.suite != 0xc02b) {
			t.Errorf("%s: got %+v", c.name, h)
		}
	}
	// a ServerHello in epoch 1 (encrypted, renegotiation) does not count
	b := serverHello(r, nil, 0xc02b, useSRTP(7), nil)
	b[4] = 1
	if _, ok := parseServerHello(b); ok {
		t.Error("an epoch 1 record was read")
	}
}

// FuzzServerHello: whatever the fields, a ServerHello built from them
// reads back as the same fields, and any mutation of a datagram never
// panics nor reads past it.
func FuzzServerHello(f *testing.F) {
	f.Add([]byte("0123456789abcdef0123456789abcdef"), []byte{}, uint16(0xc02b), uint16(7), []byte{0, 23, 0, 0}, 0, byte(0))
	f.Add([]byte("r"), []byte{1, 2, 3}, uint16(0xc030), uint16(1), []byte{}, 40, byte(0xff))
	f.Fuzz(func(t *testing.T, rnd, sid []byte, suite, profile uint16, pre []byte, flip int, x byte) {
		var r [32]byte
		copy(r[:], rnd)
		if len(sid) > 32 {
			sid = sid[:32]
		}
		// only well-formed extensions before use_srtp (type, length, value)
		var exts []byte
		for len(pre) >= 4 {
			n := int(binary.BigEndian.Uint16(pre[2:4])) % 8
			if binary.BigEndian.Uint16(pre[0:2]) == extUseSRTP || len(pre) < 4+n {
				break
			}
			exts = append(exts, pre[0], pre[1], 0, byte(n))
			exts = append(exts, pre[4:4+n]...)
			pre = pre[4+n:]
		}
		b := serverHello(r, sid, suite, append(exts, useSRTP(profile)...), nil)
		h, ok := parseServerHello(b)
		if !ok || h.random != r || h.suite != suite || h.profile != profile {
			t.Fatalf("built %x, read %+v ok=%v", b, h, ok)
		}
		if len(b) > 0 {
			m := append([]byte(nil), b...)
			m[(flip%len(m)+len(m))%len(m)] ^= x
			_, _ = parseServerHello(m)
			for i := range m {
				_, _ = parseServerHello(m[:i])
			}
		}
	})
}
