package hep

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/capture"
)

// decoded is one HEP3 packet as decodeHEP read it: generic chunks (vendor
// 0) by type.
type decoded map[uint16][]byte

// decodeHEP is a decoder written for the test from the HEP3 Network
// Protocol Specification rev. 36 (§2: "HEP3" then the total length in
// network byte order, including the 6-byte header; §3: chunks of vendor
// ID, type ID and a length that includes the chunk's 6-byte header), apart
// from Encode. It rejects what the spec does not allow.
func decodeHEP(b []byte) (decoded, error) {
	if len(b) < 6 || string(b[:4]) != "HEP3" {
		return nil, fmt.Errorf("no HEP3 id")
	}
	if total := int(b[4])<<8 | int(b[5]); total != len(b) {
		return nil, fmt.Errorf("total length %d, datagram %d", total, len(b))
	}
	out := decoded{}
	for p := b[6:]; len(p) > 0; {
		if len(p) < 6 {
			return nil, fmt.Errorf("truncated chunk header")
		}
		vendor, typ, n := int(p[0])<<8|int(p[1]), uint16(p[2])<<8|uint16(p[3]), int(p[4])<<8|int(p[5])
		if n < 6 || n > len(p) {
			return nil, fmt.Errorf("chunk %d length %d", typ, n)
		}
		if vendor == 0 {
			if _, dup := out[typ]; dup {
				return nil, fmt.Errorf("chunk %d twice", typ)
			}
			out[typ] = p[6:n]
		}
		p = p[n:]
	}
	return out, nil
}

func (d decoded) u(t *testing.T, typ uint16, size int) uint32 {
	t.Helper()
	v, ok := d[typ]
	if !ok || len(v) != size {
		t.Fatalf("chunk %#x: %v (%d bytes, want %d)", typ, ok, len(v), size)
	}
	var n uint32
	for _, c := range v {
		n = n<<8 | uint32(c)
	}
	return n
}

func TestMirrorToCollector(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c := New(Options{Collector: pc.LocalAddr().String(), ID: 2001, Password: "s3cret"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	at := time.Date(2026, 12, 7, 6, 30, 0, 654321000, time.UTC)
	text := "INVITE sip:1001@gw SIP/2.0\r\nCall-ID: hep-1\r\nCSeq: 1 INVITE\r\n\r\n"
	in := &capture.Message{Time: at, Dir: capture.In, Transport: "udp", Local: netip.MustParseAddrPort("127.0.0.1:5060"),
		Remote: netip.MustParseAddrPort("127.0.0.2:5070"), Data: []byte(text)}
	out := &capture.Message{Time: at, Dir: capture.Out, Transport: "tls", Local: netip.MustParseAddrPort("[2001:db8::1]:5061"),
		Remote: netip.MustParseAddrPort("[2001:db8::2]:40000"), Data: []byte(text)}
	c.Capture(in)
	c.Capture(out)

	buf := make([]byte, 70000)
	for i, m := range []*capture.Message{in, out} {
		_ = pc.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		d, err := decodeHEP(buf[:n])
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if got := d.u(t, 0x0b, 1); got != 1 {
			t.Errorf("protocol type %d, want 1 (SIP)", got)
		}
		if d.u(t, 0x0c, 4) != 2001 || string(d[0x0e]) != "s3cret" {
			t.Errorf("capture id %d, auth key %q", d.u(t, 0x0c, 4), d[0x0e])
		}
		if d.u(t, 0x09, 4) != uint32(at.Unix()) || d.u(t, 0x0a, 4) != 654321 {
			t.Errorf("timestamp %d.%06d", d.u(t, 0x09, 4), d.u(t, 0x0a, 4))
		}
		if !bytes.Equal(d[0x0f], m.Data) {
			t.Errorf("payload %q", d[0x0f])
		}
		src, dst := netip.AddrPortFrom(netip.Addr{}, uint16(d.u(t, 0x07, 2))), netip.AddrPortFrom(netip.Addr{}, uint16(d.u(t, 0x08, 2)))
		switch i {
		case 0: // received: from the peer to the gateway, IPv4 UDP
			if d.u(t, 0x01, 1) != 2 || d.u(t, 0x02, 1) != 17 {
				t.Errorf("family/protocol %d/%d, want 2/17", d.u(t, 0x01, 1), d.u(t, 0x02, 1))
			}
			src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(d[0x03])), src.Port())
			dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(d[0x04])), dst.Port())
			if src != m.Remote || dst != m.Local {
				t.Errorf("%v -> %v, want %v -> %v", src, dst, m.Remote, m.Local)
			}
		case 1: // sent: from the gateway, IPv6 TCP (TLS)
			if d.u(t, 0x01, 1) != 10 || d.u(t, 0x02, 1) != 6 {
				t.Errorf("family/protocol %d/%d, want 10/6", d.u(t, 0x01, 1), d.u(t, 0x02, 1))
			}
			src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(d[0x05])), src.Port())
			dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(d[0x06])), dst.Port())
			if src != m.Local || dst != m.Remote {
				t.Errorf("%v -> %v, want %v -> %v", src, dst, m.Local, m.Remote)
			}
		}
	}
	// The count follows the write that the listener has already seen.
	for deadline := time.Now().Add(10 * time.Second); c.Stats().Sent < 2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if st := c.Stats(); st.Sent != 2 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

// The queue is bounded: with no sender running, what does not fit is
// dropped and counted, and Capture does not block.
func TestQueueFullDrops(t *testing.T) {
	c := New(Options{Collector: "127.0.0.1:9", Queue: 2})
	m := &capture.Message{Time: time.Now(), Transport: "udp", Data: []byte("x")}
	done := make(chan struct{})
	go func() {
		for range 1000 {
			c.Capture(m)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Capture blocked")
	}
	if st := c.Stats(); st.Dropped != 998 {
		t.Errorf("dropped %d, want 998", st.Dropped)
	}
}

func TestTooLarge(t *testing.T) {
	m := &capture.Message{Time: time.Now(), Transport: "tcp", Data: []byte(strings.Repeat("x", 65535))}
	b, err := Encode([]byte("keep"), m, 1, "")
	if err != ErrTooLarge || string(b) != "keep" {
		t.Errorf("Encode of 64 KiB = %q, %v; want the buffer unchanged and ErrTooLarge", b[:min(len(b), 8)], err)
	}
	m.Data = m.Data[:60000]
	b, err = Encode(nil, m, 1, "")
	if err != nil || int(binary.BigEndian.Uint16(b[4:])) != len(b) {
		t.Errorf("Encode of 60000 bytes: %v", err)
	}
	if _, err := decodeHEP(b); err != nil {
		t.Error(err)
	}
}
