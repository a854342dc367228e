//go:build linux

package sockbuf

import (
	"bufio"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// sysctl reads an integer from /proc/sys.
func sysctl(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(name, ".", "/"))
	if err != nil {
		t.Skipf("no %s: %v", name, err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// netAdmin reports whether this process has CAP_NET_ADMIN in its effective
// set (/proc/self/status CapEff, capability 12), which is what lets the
// force options pass the sysctl caps (capabilities(7)).
func netAdmin(t *testing.T) bool {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatalf("CapEff %q: %v", v, err)
			}
			return caps&(1<<12) != 0
		}
	}
	t.Skip("no CapEff in /proc/self/status")
	return false
}

func udp(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestSetGrants asks for buffers below and above net.core.rmem_max and
// wmem_max and checks what the socket then has, read with getsockopt by
// the test itself: below the caps exactly what was asked; above them, with
// CAP_NET_ADMIN, still what was asked (forced), and without it the cap,
// reported as capped.
func TestSetGrants(t *testing.T) {
	rmax, wmax := sysctl(t, "net.core.rmem_max"), sysctl(t, "net.core.wmem_max")
	admin := netAdmin(t)
	const small = 96 << 10
	big := 2 * max(rmax, wmax)
	tests := []struct {
		name string
		want Sizes
		// expected sizes; -1: left alone (the socket's default)
		read, write int
		capped      bool
	}{
		{"both below the caps", Sizes{small, small}, small, small, false},
		{"read only", Sizes{Read: small}, small, -1, false},
		{"write only", Sizes{Write: small}, -1, small, false},
		{"past the caps", Sizes{big, big}, map[bool]int{true: big, false: rmax}[admin], map[bool]int{true: big, false: wmax}[admin], !admin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := udp(t)
			before := Get(c)
			got, err := Set(c, tt.want)
			if err != nil {
				t.Fatalf("Set: %v", err)
			}
			rd, wr := tt.read, tt.write
			if rd < 0 {
				rd = before.Read
			}
			if wr < 0 {
				wr = before.Write
			}
			if got.Read != rd || got.Write != wr {
				t.Errorf("Set(%+v) granted %+v, want {Read:%d Write:%d} (rmem_max %d, wmem_max %d, CAP_NET_ADMIN %v)", tt.want, got, rd, wr, rmax, wmax, admin)
			}
			if now := Get(c); now != got {
				t.Errorf("Get after Set = %+v, Set returned %+v", now, got)
			}
			if got.Capped(tt.want) != tt.capped {
				t.Errorf("Capped = %v, want %v", got.Capped(tt.want), tt.capped)
			}
		})
	}
}

func TestCapped(t *testing.T) {
	tests := []struct {
		got, asked Sizes
		want       bool
	}{
		{Sizes{100, 100}, Sizes{100, 100}, false},
		{Sizes{99, 100}, Sizes{100, 100}, true},
		{Sizes{100, 99}, Sizes{100, 100}, true},
		{Sizes{200, 200}, Sizes{100, 100}, false},
		{Sizes{0, 0}, Sizes{100, 100}, false}, // unknown is not capped
		{Sizes{50, 50}, Sizes{}, false},       // nothing asked
	}
	for _, tt := range tests {
		if c := tt.got.Capped(tt.asked); c != tt.want {
			t.Errorf("%+v.Capped(%+v) = %v, want %v", tt.got, tt.asked, c, tt.want)
		}
	}
}

func TestSetClosed(t *testing.T) {
	c := udp(t)
	_ = c.Close()
	if _, err := Set(c, Sizes{Read: 1 << 16}); !errors.Is(err, ErrNoRawSocket) {
		t.Fatalf("Set on a closed socket: %v, want ErrNoRawSocket", err)
	}
}
