// Package hep mirrors SIP messages to a Homer collector in HEP version 3
// (the HEP3 Network Protocol Specification, rev. 36, sipcapture.org:
// github.com/sipcapture/HEP/blob/master/docs/HEP3_Network_Protocol_Specification_REV_36.pdf).
// Each message goes in one UDP datagram; a bounded queue keeps the
// gateway from ever waiting for the collector, and what does not fit is
// counted as dropped.
package hep

import (
	"encoding/binary"
	"errors"

	"github.com/switchboard-gw/switchboard/gateway/capture"
)

// Generic chunk types (vendor 0x0000), spec §3 table "generic chunk types".
const (
	chunkFamily     = 0x0001 // uint8 IP protocol family
	chunkProto      = 0x0002 // uint8 IP protocol ID
	chunkSrcIPv4    = 0x0003 // inet4-addr
	chunkDstIPv4    = 0x0004
	chunkSrcIPv6    = 0x0005 // inet6-addr
	chunkDstIPv6    = 0x0006
	chunkSrcPort    = 0x0007 // uint16
	chunkDstPort    = 0x0008
	chunkTimeSec    = 0x0009 // uint32 seconds since the epoch
	chunkTimeUsec   = 0x000a // uint32 microseconds offset
	chunkProtoType  = 0x000b // uint8: 0x01 SIP
	chunkCaptureID  = 0x000c // uint32 capture agent ID
	chunkAuthKey    = 0x000e // octet-string
	chunkPayload    = 0x000f // octet-string, the captured packet payload
	chunkHeaderSize = 6      // vendor ID, type ID, length (spec §3)
	headerSize      = 6      // "HEP3" and the total length (spec §2)
)

// Values of the chunks.
const (
	familyIPv4   = 2  // AF_INET
	familyIPv6   = 10 // AF_INET6
	protoTCP     = 6
	protoUDP     = 17
	protoTypeSIP = 0x01
)

// ErrTooLarge is returned for a message whose HEP packet would exceed the
// 16-bit total length.
var ErrTooLarge = errors.New("hep packet over 65535 bytes")

// Encode appends m as a HEP3 packet to dst. id is the capture agent ID;
// key, if not empty, goes in the authentication key chunk.
func Encode(dst []byte, m *capture.Message, id uint32, key string) ([]byte, error) {
	src, to := m.Remote, m.Local
	if m.Dir == capture.Out {
		src, to = m.Local, m.Remote
	}
	start := len(dst)
	dst = append(dst, 'H', 'E', 'P', '3', 0, 0)
	v4 := src.Addr().Is4() || (!src.Addr().IsValid() && to.Addr().Is4())
	if v4 {
		dst = u8(dst, chunkFamily, familyIPv4)
	} else {
		dst = u8(dst, chunkFamily, familyIPv6)
	}
	proto := byte(protoTCP)
	if m.Transport == "udp" {
		proto = protoUDP
	}
	dst = u8(dst, chunkProto, proto)
	if v4 {
		s, d := as4(src.Addr().As4, src.Addr().Is4()), as4(to.Addr().As4, to.Addr().Is4())
		dst = octets(dst, chunkSrcIPv4, s[:])
		dst = octets(dst, chunkDstIPv4, d[:])
	} else {
		s, d := src.Addr().As16(), to.Addr().As16()
		dst = octets(dst, chunkSrcIPv6, s[:])
		dst = octets(dst, chunkDstIPv6, d[:])
	}
	dst = u16(dst, chunkSrcPort, src.Port())
	dst = u16(dst, chunkDstPort, to.Port())
	us := m.Time.UnixMicro()
	dst = u32(dst, chunkTimeSec, uint32(us/1e6))
	dst = u32(dst, chunkTimeUsec, uint32(us%1e6))
	dst = u8(dst, chunkProtoType, protoTypeSIP)
	dst = u32(dst, chunkCaptureID, id)
	if key != "" {
		dst = octets(dst, chunkAuthKey, []byte(key))
	}
	if len(dst)-start+chunkHeaderSize+len(m.Data) > 0xffff {
		return dst[:start], ErrTooLarge
	}
	dst = octets(dst, chunkPayload, m.Data)
	binary.BigEndian.PutUint16(dst[start+4:], uint16(len(dst)-start))
	return dst, nil
}

// as4 is the address's four bytes, or 0.0.0.0 for a missing one.
func as4(f func() [4]byte, ok bool) [4]byte {
	if !ok {
		return [4]byte{}
	}
	return f()
}

func chunk(dst []byte, typ uint16, n int) []byte {
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(dst, 0), typ),
		uint16(chunkHeaderSize+n))
}

func u8(dst []byte, typ uint16, v byte) []byte { return append(chunk(dst, typ, 1), v) }
func u16(dst []byte, typ uint16, v uint16) []byte {
	return binary.BigEndian.AppendUint16(chunk(dst, typ, 2), v)
}
func u32(dst []byte, typ uint16, v uint32) []byte {
	return binary.BigEndian.AppendUint32(chunk(dst, typ, 4), v)
}
func octets(dst []byte, typ uint16, v []byte) []byte { return append(chunk(dst, typ, len(v)), v...) }
