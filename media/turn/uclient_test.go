package turn

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"
)

// echoPeer answers every UDP datagram with itself, as coturn's
// turnutils_peer does, until the test ends.
func echoPeer(t *testing.T, ip string) *net.UDPAddr {
	t.Helper()
	pc := udpPeer(t, ip)
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(buf[:n], from)
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr)
}

var reUclientTotals = regexp.MustCompile(`start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)`)

// TestTurnutilsUclient: coturn's own client allocates over UDP, TCP, TLS
// and DTLS (RFC 7350, -S without -t) with REST credentials, binds channels
// (or uses Send indications) and relays to an echo peer on 127.0.0.5
// through our server.
func TestTurnutilsUclient(t *testing.T) {
	bin, err := exec.LookPath("turnutils_uclient")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("turnutils_uclient missing: scripts/deps.sh test installs the Debian package coturn")
		}
		t.Skip("turnutils_uclient not installed (Debian package coturn; make deps-test)")
	}
	s := startServer(t, func(o *Options) {
		o.AllowPeers = []netip.Prefix{loopback}
		o.Listen = append(o.Listen, "dtls://127.0.0.1:0")
	})
	peer := echoPeer(t, "127.0.0.5")
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"udp channels", nil},
		{"udp send indications", []string{"-s"}},
		{"tcp", []string{"-t"}},
		{"tls", []string{"-t", "-S"}},
		{"tcp relay rfc6062", []string{"-T"}},
		{"dtls", []string{"-S"}},
		{"dtls send indications", []string{"-S", "-s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scheme := "udp"
			for _, f := range tc.flags {
				switch f {
				case "-t", "-T":
					scheme = "tcp"
				case "-S":
					scheme = "dtls"
				}
			}
			if scheme == "dtls" && slices.Contains(tc.flags, "-t") {
				scheme = "tls"
			}
			_, port, _ := net.SplitHostPort(s.addr(t, scheme))
			args := append([]string{"-c", "-n", "20", "-m", "2", "-l", "172", "-z", "5", "-u", "uclient", "-W", testSecret,
				"-p", port, "-e", peer.IP.String(), "-r", strconv.Itoa(peer.Port)}, tc.flags...)
			args = append(args, "127.0.0.1")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("turnutils_uclient %v: %v\n%s", args, err, out)
			}
			m := reUclientTotals.FindSubmatch(out)
			if m == nil {
				t.Fatalf("no totals in the output:\n%s", out)
			}
			sent, _ := strconv.Atoi(string(m[1]))
			recv, _ := strconv.Atoi(string(m[2]))
			t.Logf("turnutils_uclient %s: sent %d, received %d", tc.name, sent, recv)
			if sent != 40 || recv < sent*9/10 {
				t.Errorf("sent %d, received %d through the relay\n%s", sent, recv, out)
			}
		})
	}
	if s.Stats().AllocationsTotal < 6 || s.Stats().PacketsToPeer == 0 {
		t.Errorf("stats: %+v", s.Stats())
	}
}
