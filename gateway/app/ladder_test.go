package app

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/ladder"
)

// udpPhone is a bare UDP SIP peer for the ladder tests.
type udpPhone struct {
	t    *testing.T
	conn *net.UDPConn
	gw   *net.UDPAddr
}

func newUDPPhone(t *testing.T, a *App) *udpPhone {
	t.Helper()
	var gw *net.UDPAddr
	for _, b := range a.SIP().Bound() {
		if b.Scheme == "udp" {
			gw = net.UDPAddrFromAddrPort(b.AddrPort)
		}
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &udpPhone{t: t, conn: conn, gw: gw}
}

func (p *udpPhone) send(text string) {
	p.t.Helper()
	text = strings.ReplaceAll(strings.TrimLeft(text, "\n"), "\n", "\r\n")
	if _, err := p.conn.WriteToUDP([]byte(text), p.gw); err != nil {
		p.t.Fatal(err)
	}
}

// finalTo reads until the final response of callID.
func (p *udpPhone) finalTo(callID string) string {
	p.t.Helper()
	buf := make([]byte, 65535)
	for {
		_ = p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			p.t.Fatalf("waiting for the final response to %s: %v", callID, err)
		}
		m := string(buf[:n])
		if strings.Contains(m, "Call-ID: "+callID+"\r\n") && !strings.HasPrefix(m, "SIP/2.0 1") {
			return m
		}
	}
}

func (p *udpPhone) invite(callID, from, to string) string {
	local := p.conn.LocalAddr().String()
	p.send(fmt.Sprintf(`
INVITE sip:%[3]s@example.com SIP/2.0
Via: SIP/2.0/UDP %[4]s;branch=z9hG4bK-%[5]s;rport
Max-Forwards: 70
From: <sip:%[2]s@example.com>;tag=f-%[5]s
To: <sip:%[3]s@example.com>
Call-ID: %[1]s
CSeq: 1 INVITE
Contact: <sip:%[2]s@%[4]s>
Content-Length: 0

`, callID, from, to, local, token(callID)))
	return p.finalTo(callID)
}

func (p *udpPhone) ack(callID, to, final string) {
	tag := ""
	for _, l := range strings.Split(final, "\r\n") {
		if strings.HasPrefix(l, "To: ") {
			tag = strings.TrimPrefix(l, "To: ")
		}
	}
	p.send(fmt.Sprintf(`
ACK sip:%[2]s@example.com SIP/2.0
Via: SIP/2.0/UDP %[3]s;branch=z9hG4bK-%[5]s;rport
Max-Forwards: 70
From: <sip:3000@example.com>;tag=f-%[5]s
To: %[4]s
Call-ID: %[1]s
CSeq: 1 ACK
Content-Length: 0

`, callID, to, p.conn.LocalAddr().String(), tag, token(callID)))
}

// TestLadderAPI: a call the gateway refuses (no route for the number) is
// on the ladder list with its final status; its ladder shows the caller
// and the gateway as columns and INVITE, 100, 404, ACK in order; the PCAP
// export holds the four messages; and the API wants the admin.
func TestLadderAPI(t *testing.T) {
	a := runApp(t, "security:\n  trusted_callers: [127.0.0.1]\n", nil)
	p := newUDPPhone(t, a)
	const id = "ladder-api-1@127.0.0.1"
	final := p.invite(id, "3000", "999")
	if !strings.HasPrefix(final, "SIP/2.0 404") {
		t.Fatalf("final response %q, want 404 (no route)", strings.SplitN(final, "\r\n", 2)[0])
	}
	p.ack(id, "999", final)
	base := "https://" + a.AdminAddr()
	admin := authClient(a, "127.0.0.1")

	var view ladder.View
	for deadline := time.Now().Add(10 * time.Second); ; {
		code, body := get(t, admin, base+"/api/v1/ladders/"+id)
		if code != http.StatusOK {
			t.Fatalf("ladder: %d %s", code, body)
		}
		view = ladder.View{}
		if err := json.Unmarshal([]byte(body), &view); err != nil {
			t.Fatalf("ladder: %v: %s", err, body)
		}
		if len(view.Messages) >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // the ACK may still be on its way
	}
	var labels []string
	for _, m := range view.Messages {
		labels = append(labels, fmt.Sprintf("%d>%d %s", m.From, m.To, m.Label))
	}
	if got := strings.Join(labels, ", "); got != "0>1 INVITE, 1>0 100 Trying, 1>0 404 Not Found, 0>1 ACK" {
		t.Errorf("ladder %q, want caller(0)/gateway(1): INVITE, 100 Trying, 404 Not Found, ACK", got)
	}
	if len(view.Parties) != 2 || view.Parties[0].Name != p.conn.LocalAddr().String() || !view.Parties[1].Gateway ||
		view.Status != 404 || view.From != "<sip:3000@example.com>;tag=f-"+token(id) {
		t.Errorf("parties %+v, summary %+v", view.Parties, view.Summary)
	}

	code, body := get(t, admin, base+"/api/v1/ladders")
	var list []ladder.Summary
	if code != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil || len(list) != 1 || list[0].ID != id || list[0].Status != 404 {
		t.Errorf("list: %d %s", code, body)
	}
	// The call record's id (Call-ID;tag) and the API's gateway:<id> find it.
	for _, alias := range []string{"gateway:" + id, id + ";sometag"} {
		if code, _ := get(t, admin, base+"/api/v1/ladders/"+alias); code != http.StatusOK {
			t.Errorf("ladder of %q: %d", alias, code)
		}
	}

	res, err := admin.Get(base + "/api/v1/ladders/" + id + ".pcap")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	pc := make([]byte, 0, 4096)
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		pc = append(pc, buf[:n]...)
		if err != nil {
			break
		}
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/vnd.tcpdump.pcap" {
		t.Fatalf("pcap: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	// Count the records (pcap-savefile(5)): 24-byte header, then 16-byte
	// record headers with the captured length.
	records := 0
	for off := 24; off+16 <= len(pc); records++ {
		off += 16 + int(binary.LittleEndian.Uint32(pc[off+8:]))
	}
	if binary.LittleEndian.Uint32(pc) != 0xa1b2c3d4 || records != len(view.Messages) {
		t.Errorf("pcap of %d bytes has %d records, want %d", len(pc), records, len(view.Messages))
	}
	if tshark, err := exec.LookPath("tshark"); err == nil {
		f := filepath.Join(t.TempDir(), "call.pcap")
		if err := os.WriteFile(f, pc, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(tshark, "-r", f, "--enable-heuristic", "sip_udp", "-T", "fields", "-e", "sip.Call-ID").Output()
		if err != nil || strings.Count(string(out), id) != 4 {
			t.Errorf("tshark: %v\n%s", err, out)
		}
	}

	// Auth: no credentials 401 (http.api_allow's default is any source
	// now that every route needs an account; admin_test.go covers it).
	if code, _ := get(t, clientFrom("127.0.0.1"), base+"/api/v1/ladders"); code != http.StatusUnauthorized {
		t.Errorf("without credentials: %d, want 401", code)
	}
	if code, _ := get(t, clientFrom("127.0.0.2"), base+"/api/v1/ladders/"+id); code != http.StatusUnauthorized {
		t.Errorf("from 127.0.0.2 without credentials: %d, want 401", code)
	}
	if code, _ := get(t, admin, base+"/api/v1/ladders/no-such-call.pcap"); code != http.StatusNotFound {
		t.Errorf("unknown call: %d, want 404", code)
	}
}

// TestLadderJunkFlood: INVITEs with fresh Call-IDs that never get past
// the 407 do not evict the ladder of a call, even with room for two.
func TestLadderJunkFlood(t *testing.T) {
	a := runApp(t, "security:\n  trusted_callers: [127.0.0.1]\n  exempt_sources: [127.0.0.1]\nladder: {calls: 2}\n", nil)
	p := newUDPPhone(t, a)
	const id = "ladder-real@127.0.0.1"
	p.ack(id, "999", p.invite(id, "3000", "999"))
	for i := range 300 {
		// From one of our users: never trusted, challenged (407).
		if final := p.invite(fmt.Sprintf("junk-%d", i), "u1000", "999"); !strings.HasPrefix(final, "SIP/2.0 407") {
			t.Fatalf("junk INVITE answered %q", strings.SplitN(final, "\r\n", 2)[0])
		}
	}
	base := "https://" + a.AdminAddr()
	code, body := get(t, authClient(a, "127.0.0.1"), base+"/api/v1/ladders")
	var list []ladder.Summary
	if code != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil || len(list) != 1 || list[0].ID != id {
		t.Fatalf("ladders after the flood: %d %s", code, body)
	}
	_, metrics := get(t, clientFrom("127.0.0.1"), base+"/metrics")
	if !strings.Contains(metrics, "switchboard_ladder_calls 1\n") || !strings.Contains(metrics, "switchboard_ladder_evicted_total 0\n") {
		t.Errorf("ladder metrics:\n%s", grepLines(metrics, "switchboard_ladder_"))
	}
}

// token makes a Call-ID fit a branch or tag (RFC 3261 §25.1 token).
func token(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, s)
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestLadderTCP: over TCP the ladder has the same messages in the same
// order (outgoing ones come from sipgo's write hook there), with transport
// tcp and the gateway's listener as the local address.
func TestLadderTCP(t *testing.T) {
	collector, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer collector.Close()
	a := runApp(t, "security:\n  trusted_callers: [127.0.0.1]\nhep: {enabled: true, collector: \"udp://"+collector.LocalAddr().String()+"\"}\n", nil)
	var gw string
	for _, b := range a.SIP().Bound() {
		if b.Scheme == "tcp" {
			gw = b.Addr
		}
	}
	c, err := net.Dial("tcp", gw)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const id = "ladder-tcp-1@127.0.0.1"
	local := c.LocalAddr().String()
	send := func(s string) {
		if _, err := c.Write([]byte(strings.ReplaceAll(strings.TrimLeft(s, "\n"), "\n", "\r\n"))); err != nil {
			t.Fatal(err)
		}
	}
	send(fmt.Sprintf(`
INVITE sip:999@example.com SIP/2.0
Via: SIP/2.0/TCP %[2]s;branch=z9hG4bK-tcp1
Max-Forwards: 70
From: <sip:3000@example.com>;tag=f-tcp
To: <sip:999@example.com>
Call-ID: %[1]s
CSeq: 1 INVITE
Contact: <sip:3000@%[2]s;transport=tcp>
Content-Length: 0

`, id, local))
	// Read until the final response (every message here has no body).
	var got strings.Builder
	buf := make([]byte, 4096)
	toTag := ""
	for !strings.Contains(got.String(), "SIP/2.0 404") || !strings.HasSuffix(got.String(), "\r\n\r\n") {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("reading responses: %v (so far %q)", err, got.String())
		}
		got.Write(buf[:n])
	}
	final := got.String()[strings.Index(got.String(), "SIP/2.0 404"):]
	for _, l := range strings.Split(final, "\r\n") {
		if strings.HasPrefix(l, "To: ") {
			toTag = strings.TrimPrefix(l, "To: ")
		}
	}
	send(fmt.Sprintf(`
ACK sip:999@example.com SIP/2.0
Via: SIP/2.0/TCP %[2]s;branch=z9hG4bK-tcp1
Max-Forwards: 70
From: <sip:3000@example.com>;tag=f-tcp
To: %[3]s
Call-ID: %[1]s
CSeq: 1 ACK
Content-Length: 0

`, id, local, toTag))

	admin := authClient(a, "127.0.0.1")
	var view ladder.View
	for deadline := time.Now().Add(10 * time.Second); ; {
		code, body := get(t, admin, "https://"+a.AdminAddr()+"/api/v1/ladders/"+id)
		view = ladder.View{}
		if code != http.StatusOK || json.Unmarshal([]byte(body), &view) != nil {
			t.Fatalf("ladder: %d %s", code, body)
		}
		if len(view.Messages) >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var labels []string
	for _, m := range view.Messages {
		labels = append(labels, fmt.Sprintf("%s %d>%d %s", m.Transport, m.From, m.To, m.Label))
		if m.Transport == "tcp" && (m.Direction == "in" && (m.Dst != gw || m.Src != local) || m.Direction == "out" && (m.Src != gw || m.Dst != local)) {
			t.Errorf("%s %s: %s -> %s, want between %s and %s", m.Direction, m.Label, m.Src, m.Dst, local, gw)
		}
	}
	if got := strings.Join(labels, ", "); got != "tcp 0>1 INVITE, tcp 1>0 100 Trying, tcp 1>0 404 Not Found, tcp 0>1 ACK" {
		t.Errorf("ladder %q, want INVITE, 100 Trying, 404 Not Found, ACK over tcp", got)
	}
	// The HEP mirror (run by the app, under the race detector here) sent
	// the four messages, TCP (protocol 6) in chunk 0x0002.
	hb := make([]byte, 65535)
	seen := 0
	for seen < 4 {
		_ = collector.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _, err := collector.ReadFrom(hb)
		if err != nil {
			t.Fatalf("HEP: %d of 4 messages: %v", seen, err)
		}
		if p := hb[:n]; string(p[:4]) == "HEP3" && strings.Contains(string(p), "Call-ID: "+id) &&
			strings.Contains(string(p), string([]byte{0, 0, 0, 2, 0, 7, 6})) {
			seen++
		}
	}
}
