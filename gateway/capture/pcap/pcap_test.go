package pcap

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/capture"
)

// packet is what readPCAP found in one record.
type packet struct {
	at       time.Time
	src, dst netip.AddrPort
	proto    byte
	payload  []byte
}

// readPCAP is a reader written for the test from pcap-savefile(5) and the
// IP, UDP and TCP RFCs, apart from the writer: it checks every length and
// checksum the way a receiver does (the one's complement sum over the
// header or segment, pseudo-header included, comes to 0xffff).
func readPCAP(t *testing.T, b []byte) []packet {
	t.Helper()
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 || binary.LittleEndian.Uint32(b[20:]) != 1 {
		t.Fatalf("bad file header % x", b[:min(len(b), 24)])
	}
	b = b[24:]
	var out []packet
	for len(b) > 0 {
		if len(b) < 16 {
			t.Fatalf("truncated record header")
		}
		sec, usec := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
		incl, orig := binary.LittleEndian.Uint32(b[8:]), binary.LittleEndian.Uint32(b[12:])
		if incl != orig || int(incl) > len(b)-16 || usec >= 1e6 {
			t.Fatalf("record lengths %d/%d usec %d", incl, orig, usec)
		}
		f := b[16 : 16+incl]
		b = b[16+incl:]
		p := packet{at: time.Unix(int64(sec), int64(usec)*1000)}
		var pseudo []byte
		var l4 []byte
		switch et := uint16(f[12])<<8 | uint16(f[13]); et {
		case 0x0800:
			ip := f[14:]
			ihl := int(ip[0]&0x0f) * 4
			if ip[0]>>4 != 4 || ihl != 20 || int(uint16(ip[2])<<8|uint16(ip[3])) != len(ip) {
				t.Fatalf("ipv4 header % x (frame %d bytes)", ip[:20], len(f))
			}
			if onesSum(ip[:ihl]) != 0xffff {
				t.Fatalf("ipv4 header checksum wrong")
			}
			p.proto = ip[9]
			p.src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip[12:16])), 0)
			p.dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip[16:20])), 0)
			l4 = ip[ihl:]
			pseudo = append(append([]byte{}, ip[12:20]...), 0, p.proto, byte(len(l4)>>8), byte(len(l4)))
		case 0x86dd:
			ip := f[14:]
			if ip[0]>>4 != 6 || int(uint16(ip[4])<<8|uint16(ip[5])) != len(ip)-40 {
				t.Fatalf("ipv6 header % x", ip[:40])
			}
			p.proto = ip[6]
			p.src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(ip[8:24])), 0)
			p.dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(ip[24:40])), 0)
			l4 = ip[40:]
			pseudo = append(append([]byte{}, ip[8:40]...), 0, 0, byte(len(l4)>>8), byte(len(l4)), 0, 0, 0, p.proto)
		default:
			t.Fatalf("ethertype %#x", et)
		}
		if onesSum(append(pseudo, l4...)) != 0xffff {
			t.Fatalf("transport checksum wrong (proto %d)", p.proto)
		}
		sport, dport := uint16(l4[0])<<8|uint16(l4[1]), uint16(l4[2])<<8|uint16(l4[3])
		p.src, p.dst = netip.AddrPortFrom(p.src.Addr(), sport), netip.AddrPortFrom(p.dst.Addr(), dport)
		switch p.proto {
		case 17:
			if int(uint16(l4[4])<<8|uint16(l4[5])) != len(l4) {
				t.Fatalf("udp length")
			}
			p.payload = l4[8:]
		case 6:
			p.payload = l4[int(l4[12]>>4)*4:]
		default:
			t.Fatalf("protocol %d", p.proto)
		}
		out = append(out, p)
	}
	return out
}

// onesSum is the 16-bit one's complement sum (RFC 1071), folded.
func onesSum(b []byte) uint16 {
	var s uint64
	for i := 0; i+1 < len(b); i += 2 {
		s += uint64(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint64(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

var t0 = time.Date(2026, 12, 7, 6, 0, 0, 123456000, time.UTC)

func sipMsg(dir capture.Direction, transport, local, remote, text string, at time.Duration) *capture.Message {
	text = strings.ReplaceAll(strings.TrimLeft(text, "\n"), "\n", "\r\n")
	h, _ := capture.ScanHead([]byte(text))
	return &capture.Message{Time: t0.Add(at), Dir: dir, Transport: transport, Local: netip.MustParseAddrPort(local),
		Remote: netip.MustParseAddrPort(remote), Data: []byte(text), Head: h}
}

const inviteText = `
INVITE sip:1001@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK1
From: <sip:1000@example.com>;tag=a
To: <sip:1001@example.com>
Call-ID: pcap-test
CSeq: 1 INVITE
Content-Length: 0

`

const okText = `
SIP/2.0 200 OK
Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK1
From: <sip:1000@example.com>;tag=a
To: <sip:1001@example.com>;tag=b
Call-ID: pcap-test
CSeq: 1 INVITE
Content-Length: 0

`

func testMessages() []*capture.Message {
	big := sipMsg(capture.Out, "tls", "192.0.2.1:5061", "192.0.2.30:40000", inviteText, 3*time.Millisecond)
	big.Data = append(bytes.TrimSuffix(big.Data, []byte("\r\n")), bytes.Repeat([]byte("a"), 70_000)...) // two TCP segments
	return []*capture.Message{
		sipMsg(capture.In, "udp", "192.0.2.1:15060", "192.0.2.10:5070", inviteText, 0),
		sipMsg(capture.Out, "udp", "192.0.2.1:15060", "192.0.2.10:5070", okText, time.Millisecond),
		sipMsg(capture.Out, "tcp", "[2001:db8::1]:15060", "[2001:db8::20]:40000", inviteText, 2*time.Millisecond),
		sipMsg(capture.In, "tcp", "[2001:db8::1]:15060", "[2001:db8::20]:40000", okText, 2500*time.Microsecond),
		big,
	}
}

func TestPCAPReadBack(t *testing.T) {
	msgs := testMessages()
	var buf bytes.Buffer
	if err := WriteAll(&buf, msgs); err != nil {
		t.Fatal(err)
	}
	pkts := readPCAP(t, buf.Bytes())
	if len(pkts) != 6 {
		t.Fatalf("%d packets, want 6 (the 70 kB message in two segments)", len(pkts))
	}
	check := func(p packet, m *capture.Message, proto byte) {
		t.Helper()
		src, dst := m.Remote, m.Local
		if m.Dir == capture.Out {
			src, dst = m.Local, m.Remote
		}
		if p.src != src || p.dst != dst || p.proto != proto || !p.at.Equal(m.Time.Truncate(time.Microsecond)) {
			t.Errorf("packet %v->%v proto %d at %v, want %v->%v proto %d at %v", p.src, p.dst, p.proto, p.at, src, dst, proto, m.Time)
		}
	}
	for i, proto := range []byte{17, 17, 6, 6} {
		check(pkts[i], msgs[i], proto)
		if !bytes.Equal(pkts[i].payload, msgs[i].Data) {
			t.Errorf("packet %d payload differs", i)
		}
	}
	check(pkts[4], msgs[4], 6)
	if got := append(append([]byte{}, pkts[4].payload...), pkts[5].payload...); !bytes.Equal(got, msgs[4].Data) {
		t.Errorf("segments do not add up to the message (%d bytes, want %d)", len(got), len(msgs[4].Data))
	}
}

// TestPCAPTshark has tshark (installed by scripts/deps.sh test) dissect the
// file: every message is SIP with the right method or status.
func TestPCAPTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed (scripts/deps.sh test installs it)")
	}
	msgs := testMessages()[:4]
	path := filepath.Join(t.TempDir(), "call.pcap")
	var buf bytes.Buffer
	if err := WriteAll(&buf, msgs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tshark, "-r", path, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
		"--enable-heuristic", "sip_udp", "--enable-heuristic", "sip_tcp",
		"-T", "fields", "-E", "separator=|", "-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sip.Call-ID",
		"-e", "udp.checksum.status", "-e", "tcp.checksum.status", "-e", "ip.checksum.status").Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	t.Logf("tshark:\n%s", out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 4 {
		t.Fatalf("tshark read %d packets, want 4", len(lines))
	}
	for i, want := range []string{"INVITE|", "|200", "INVITE|", "|200"} {
		f := strings.Split(lines[i], "|")
		if len(f) != 6 || f[0]+"|"+f[1] != strings.Trim(want, "|")+"|" && f[0]+"|"+f[1] != "|"+strings.Trim(want, "|") || f[2] != "pcap-test" {
			t.Errorf("packet %d: %q, want SIP %s of Call-ID pcap-test", i, lines[i], strings.Trim(want, "|"))
			continue
		}
		// 1 is "Good" (2 "Unverified": IPv6 has no header checksum).
		if l4 := f[3] + f[4]; l4 != "1" || (f[5] != "1" && f[5] != "") {
			t.Errorf("packet %d: checksum status udp/tcp %q ip %q, want good", i, l4, f[5])
		}
	}
}
