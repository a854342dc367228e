package turn

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

type netipAddrPort = netip.AddrPort

func parseAddrPort(s string) (netip.AddrPort, error) { return netip.ParseAddrPort(s) }

// FuzzParseRESTUsername: whatever is accepted is digits, a colon and the
// user, and its expiry prints back as the digits.
func FuzzParseRESTUsername(f *testing.F) {
	for _, s := range []string{"1900000000:alice", "1900000000", "1:a:b", ":x", "12x:y", "", "99999999999999999999:u", "0001:u"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		exp, user, err := ParseRESTUsername(s)
		if err != nil {
			return
		}
		ts, rest, _ := strings.Cut(s, ":")
		if rest != user {
			t.Fatalf("%q: user %q, want %q", s, user, rest)
		}
		n, perr := strconv.ParseInt(ts, 10, 64)
		if perr != nil || n != exp.Unix() || strings.TrimLeft(ts, "0123456789") != "" {
			t.Fatalf("%q accepted with expiry %v", s, exp)
		}
		u2, _ := RESTCredentials("k", user, exp)
		if _, user2, err := ParseRESTUsername(u2); err != nil || user2 != user {
			t.Fatalf("minted %q does not parse back: %v", u2, err)
		}
	})
}

var (
	fuzzOnce sync.Once
	fuzzSrv  *Server
)

// FuzzServerDatagram throws arbitrary datagrams at a running server. It
// must answer only with well-formed STUN for the same transaction, never
// grant an Allocate (random bytes hold no valid credentials), and go on
// answering a Binding afterwards.
func FuzzServerDatagram(f *testing.F) {
	seeds := [][]byte{
		stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint).Raw,
		stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest), udpTransport).Raw,
		stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest), udpTransport,
			stun.NewUsername("1900000000:a"), stun.NewRealm(testRealm), stun.NewNonce("n"),
			stun.NewLongTermIntegrity("1900000000:a", testRealm, "x"), stun.Fingerprint).Raw,
		stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodRefresh, stun.ClassRequest), stun.RawAttribute{Type: 0x7F01}).Raw,
		{0x40, 0x01, 0x00, 0x04, 1, 2, 3, 4},
		{0x00, 0x16, 0xFF, 0xFF, 0x21, 0x12, 0xA4, 0x42},
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzOnce.Do(func() {
			s, err := New(Options{Listen: []string{"udp://127.0.0.1:0"}, Realm: testRealm, Secret: testSecret,
				RelayAddress: netip.MustParseAddr("127.0.0.1"), RelayBind: netip.MustParseAddr("127.0.0.1")})
			if err == nil {
				err = s.Start(context.Background()) // shared by every input; ends with the fuzzing process
			}
			if err != nil {
				t.Fatal(err)
			}
			fuzzSrv = s
		})
		if fuzzSrv == nil || len(data) > 1500 {
			return
		}
		c, err := net.Dial("udp", fuzzSrv.Bound()[0].Addr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write(data); err != nil {
			return
		}
		// The server handles one socket's datagrams in order, so an answer
		// to data comes before the answer to the ping sent after it.
		ping := stun.MustBuild(stun.TransactionID, stun.BindingRequest)
		_, _ = c.Write(ping.Raw)
		buf := make([]byte, 2048)
		_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
		for {
			n, err := c.Read(buf)
			if err != nil {
				t.Fatalf("server stopped answering after % x: %v", data, err)
			}
			if n >= 20 && bytes.Equal(buf[8:20], ping.TransactionID[:]) && binary.BigEndian.Uint16(buf[0:2]) == 0x0101 {
				return
			}
			m := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if err := m.Decode(); err != nil {
				t.Fatalf("answer does not decode: %v", err)
			}
			if len(data) < 20 || !bytes.Equal(m.TransactionID[:], data[8:20]) {
				t.Fatalf("answer for another transaction")
			}
			if m.Type.Method == stun.MethodAllocate && m.Type.Class == stun.ClassSuccessResponse {
				t.Fatalf("allocation granted to fuzz input % x", data)
			}
			if m.Type.Class != stun.ClassSuccessResponse && m.Type.Class != stun.ClassErrorResponse {
				t.Fatalf("answered with class %v", m.Type.Class)
			}
		}
	})
}
