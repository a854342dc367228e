package app

import (
	"context"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/trunkreg"
)

// fakeRegistrar answers every REGISTER on a UDP socket with 200 and the
// Expires asked, and keeps the Expires values it saw.
type fakeRegistrar struct {
	conn    net.PacketConn
	mu      sync.Mutex
	expires []string
}

var reHeader = regexp.MustCompile(`(?mi)^(Via|From|To|Call-ID|CSeq|Contact|Expires):.*\r\n`)

func newFakeRegistrar(t *testing.T) *fakeRegistrar {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRegistrar{conn: c}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			msg := string(buf[:n])
			if !strings.HasPrefix(msg, "REGISTER ") {
				continue
			}
			res := "SIP/2.0 200 OK\r\n"
			for _, h := range reHeader.FindAllString(msg, -1) {
				if strings.HasPrefix(strings.ToLower(h), "to:") && !strings.Contains(h, "tag=") {
					h = strings.TrimSuffix(h, "\r\n") + ";tag=reg\r\n"
				}
				if strings.HasPrefix(strings.ToLower(h), "expires:") {
					f.mu.Lock()
					f.expires = append(f.expires, strings.TrimSpace(h[len("expires:"):]))
					f.mu.Unlock()
				}
				res += h
			}
			res += "Content-Length: 0\r\n\r\n"
			_, _ = c.WriteTo([]byte(res), from)
		}
	}()
	return f
}

func (f *fakeRegistrar) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.expires...)
}

// TestReloadTrunkRegistration: a reload that gives a trunk a register
// section starts its registration; one that takes it away unregisters
// (Expires: 0) and stops it.
func TestReloadTrunkRegistration(t *testing.T) {
	reg := newFakeRegistrar(t)
	addr := reg.conn.LocalAddr().String()
	users := "users:\n  - {username: u1000, password: secret}\n"
	trunk := "trunks:\n  - name: pbx\n    target: \"sip:" + addr + "\"\n    probe: {interval: 0s}\n"
	r := startReloadApp(t, users+trunk, nil)
	if n := len(r.tregs.list()); n != 0 {
		t.Fatalf("%d registrations before", n)
	}
	r.write(users + trunk + "    register: {user: gw, password: pw, expires: 300}\n")
	if res := r.ReloadAs(context.Background(), "signal"); !res.OK {
		t.Fatalf("reload: %+v", res)
	}
	waitUntil(t, "registered", func() bool {
		l := r.tregs.list()
		return len(l) == 1 && l[0].Status().State == trunkreg.Registered
	})
	r.write(users + trunk)
	res := r.ReloadAs(context.Background(), "signal")
	if !res.OK || len(r.tregs.list()) != 0 {
		t.Fatalf("reload without register: %+v, %d registrations", res, len(r.tregs.list()))
	}
	if s := reg.seen(); len(s) < 2 || s[0] != "300" || s[len(s)-1] != "0" {
		t.Fatalf("REGISTER Expires seen %v, want 300 … 0", s)
	}
	t.Logf("notes %v", res.Notes)
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("never %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
