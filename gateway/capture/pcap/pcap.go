// Package pcap writes captured SIP messages as a classic libpcap file
// (https://www.tcpdump.org/manpages/pcap-savefile.5.html; link type 1,
// Ethernet): each message becomes an Ethernet frame with an IPv4 (RFC 791)
// or IPv6 (RFC 8200) header and a UDP (RFC 768) or TCP (RFC 9293) header,
// checksums computed, so Wireshark, tshark and tcpdump read it as if it
// had been captured on the wire. TLS, WS and WSS messages are written as
// plain TCP carrying the SIP text (what was inside the encryption and
// framing).
package pcap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/switchboard-gw/switchboard/gateway/capture"
)

// File header constants (pcap-savefile(5)).
const (
	magicMicros  = 0xa1b2c3d4
	versionMajor = 2
	versionMinor = 4
	snapLen      = 262144
	linkEthernet = 1
)

// Protocol numbers and sizes.
const (
	etherIPv4 = 0x0800
	etherIPv6 = 0x86dd
	protoTCP  = 6
	protoUDP  = 17
	ethLen    = 14
	ipv4Len   = 20
	ipv6Len   = 40
	udpLen    = 8
	tcpLen    = 20
	// maxSegment is the most payload per synthesised packet: the IPv4
	// total length is 16 bits.
	maxSegment = 65535 - ipv4Len - tcpLen
	// maxUDP is the largest UDP payload over IPv4.
	maxUDP = 65535 - ipv4Len - udpLen
)

// ErrFamily is returned for a message with no usable addresses.
var ErrFamily = errors.New("message has no IP addresses")

// Synthetic MAC addresses (locally administered, RFC 7042 §2.1).
var (
	macGateway = [6]byte{0x02, 0, 0, 0, 0, 0x01}
	macPeer    = [6]byte{0x02, 0, 0, 0, 0, 0x02}
)

type flow struct{ src, dst netip.AddrPort }

// Writer writes a pcap file.
type Writer struct {
	w     *bufio.Writer
	seq   map[flow]uint32 // next TCP sequence number per direction
	ipID  uint16
	frame []byte
}

// NewWriter writes the file header to w.
func NewWriter(w io.Writer) (*Writer, error) {
	pw := &Writer{w: bufio.NewWriter(w), seq: map[flow]uint32{}}
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], magicMicros)
	binary.LittleEndian.PutUint16(h[4:], versionMajor)
	binary.LittleEndian.PutUint16(h[6:], versionMinor)
	// thiszone and sigfigs are 0.
	binary.LittleEndian.PutUint32(h[16:], snapLen)
	binary.LittleEndian.PutUint32(h[20:], linkEthernet)
	if _, err := pw.w.Write(h[:]); err != nil {
		return nil, fmt.Errorf("write pcap header: %w", err)
	}
	return pw, nil
}

// Write writes m as one packet (or several TCP segments when it is larger
// than an IP packet holds).
func (pw *Writer) Write(m *capture.Message) error {
	src, dst := m.Remote, m.Local
	if m.Dir == capture.Out {
		src, dst = m.Local, m.Remote
	}
	src, dst, err := sameFamily(src, dst)
	if err != nil {
		return err
	}
	data := m.Data
	if m.Transport == "udp" {
		if len(data) > maxUDP {
			data = data[:maxUDP]
		}
		return pw.packet(m, src, dst, protoUDP, data)
	}
	for len(data) > 0 || len(m.Data) == 0 {
		n := min(len(data), maxSegment)
		if err := pw.packet(m, src, dst, protoTCP, data[:n]); err != nil {
			return err
		}
		data = data[n:]
		if len(m.Data) == 0 {
			break
		}
	}
	return nil
}

// Flush writes what is buffered.
func (pw *Writer) Flush() error { return pw.w.Flush() }

// WriteAll writes a whole file of msgs to w.
func WriteAll(w io.Writer, msgs []*capture.Message) error {
	pw, err := NewWriter(w)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if err := pw.Write(m); err != nil {
			return err
		}
	}
	return pw.Flush()
}

// sameFamily gives both ends one IP family: a missing or unspecified
// local address takes the other's family.
func sameFamily(src, dst netip.AddrPort) (netip.AddrPort, netip.AddrPort, error) {
	fix := func(a, other netip.AddrPort) netip.AddrPort {
		if a.Addr().IsValid() && a.Addr().Is4() == other.Addr().Is4() {
			return a
		}
		if other.Addr().Is4() {
			return netip.AddrPortFrom(netip.IPv4Unspecified(), a.Port())
		}
		return netip.AddrPortFrom(netip.IPv6Unspecified(), a.Port())
	}
	switch {
	case !src.Addr().IsValid() && !dst.Addr().IsValid():
		return src, dst, ErrFamily
	case !src.Addr().IsValid():
		return fix(src, dst), dst, nil
	case !dst.Addr().IsValid():
		return src, fix(dst, src), nil
	case src.Addr().Is4() != dst.Addr().Is4():
		return src, fix(dst, src), nil
	}
	return src, dst, nil
}

func (pw *Writer) packet(m *capture.Message, src, dst netip.AddrPort, proto byte, payload []byte) error {
	v4 := src.Addr().Is4()
	l4 := udpLen
	if proto == protoTCP {
		l4 = tcpLen
	}
	ipl := ipv6Len
	if v4 {
		ipl = ipv4Len
	}
	total := ethLen + ipl + l4 + len(payload)
	if cap(pw.frame) < total {
		pw.frame = make([]byte, total)
	}
	f := pw.frame[:total]
	clear(f)

	// Ethernet II.
	smac, dmac := macPeer, macGateway
	if m.Dir == capture.Out {
		smac, dmac = macGateway, macPeer
	}
	copy(f[0:6], dmac[:])
	copy(f[6:12], smac[:])
	ip := f[ethLen:]
	seg := ip[ipl:]
	if v4 {
		binary.BigEndian.PutUint16(f[12:], etherIPv4)
		// RFC 791 §3.1.
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(ipl+l4+len(payload)))
		pw.ipID++
		binary.BigEndian.PutUint16(ip[4:], pw.ipID)
		binary.BigEndian.PutUint16(ip[6:], 0x4000) // don't fragment
		ip[8] = 64
		ip[9] = proto
		s4, d4 := src.Addr().As4(), dst.Addr().As4()
		copy(ip[12:16], s4[:])
		copy(ip[16:20], d4[:])
		binary.BigEndian.PutUint16(ip[10:], ^fold(sum(0, ip[:ipv4Len])))
	} else {
		binary.BigEndian.PutUint16(f[12:], etherIPv6)
		// RFC 8200 §3.
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(l4+len(payload)))
		ip[6] = proto
		ip[7] = 64
		s6, d6 := src.Addr().As16(), dst.Addr().As16()
		copy(ip[8:24], s6[:])
		copy(ip[24:40], d6[:])
	}
	binary.BigEndian.PutUint16(seg[0:], src.Port())
	binary.BigEndian.PutUint16(seg[2:], dst.Port())
	if proto == protoUDP {
		binary.BigEndian.PutUint16(seg[4:], uint16(udpLen+len(payload)))
	} else {
		fw, back := flow{src, dst}, flow{dst, src}
		s := pw.seq[fw]
		if s == 0 {
			s = 1
		}
		pw.seq[fw] = s + uint32(len(payload))
		ack := pw.seq[back]
		if ack == 0 {
			ack = 1
		}
		binary.BigEndian.PutUint32(seg[4:], s)
		binary.BigEndian.PutUint32(seg[8:], ack)
		seg[12] = tcpLen / 4 << 4
		seg[13] = 0x18 // PSH, ACK
		binary.BigEndian.PutUint16(seg[14:], 65535)
	}
	copy(seg[l4:], payload)
	// The checksum over the pseudo-header (RFC 768, RFC 9293 §3.1,
	// RFC 8200 §8.1).
	var c uint32
	if v4 {
		c = sum(c, ip[12:20])
	} else {
		c = sum(c, ip[8:40])
	}
	c += uint32(proto) + uint32(len(seg))
	c = sum(c, seg)
	ck := ^fold(c)
	off := 16
	if proto == protoUDP {
		off = 6
		if ck == 0 {
			ck = 0xffff // RFC 768: zero means no checksum
		}
	}
	binary.BigEndian.PutUint16(seg[off:], ck)

	var rec [16]byte
	us := m.Time.UnixMicro()
	binary.LittleEndian.PutUint32(rec[0:], uint32(us/1e6))
	binary.LittleEndian.PutUint32(rec[4:], uint32(us%1e6))
	binary.LittleEndian.PutUint32(rec[8:], uint32(total))
	binary.LittleEndian.PutUint32(rec[12:], uint32(total))
	if _, err := pw.w.Write(rec[:]); err != nil {
		return fmt.Errorf("write pcap record: %w", err)
	}
	if _, err := pw.w.Write(f); err != nil {
		return fmt.Errorf("write pcap record: %w", err)
	}
	return nil
}

// sum adds b as big-endian 16-bit words to c (RFC 1071).
func sum(c uint32, b []byte) uint32 {
	for len(b) >= 2 {
		c += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		c += uint32(b[0]) << 8
	}
	return c
}

func fold(c uint32) uint16 {
	for c > 0xffff {
		c = c&0xffff + c>>16
	}
	return uint16(c)
}
