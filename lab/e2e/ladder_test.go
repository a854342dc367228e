package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// ladderView is GET /api/v1/ladders/{call} as a client reads it.
type ladderView struct {
	ID      string   `json:"id"`
	CallIDs []string `json:"call_ids"`
	Status  int      `json:"status"`
	Parties []struct {
		Column  int    `json:"column"`
		Name    string `json:"name"`
		Gateway bool   `json:"gateway"`
	} `json:"parties"`
	Messages []struct {
		From      int    `json:"from"`
		To        int    `json:"to"`
		Direction string `json:"direction"`
		Transport string `json:"transport"`
		Leg       int    `json:"leg"`
		CallID    string `json:"call_id"`
		Label     string `json:"label"`
		Text      string `json:"text"`
	} `json:"messages"`
}

// hepCollector is a UDP listener that decodes HEP v3 (HEP3 Network
// Protocol Specification rev. 36: "HEP3", a 16-bit total length, then
// chunks of vendor, type and length including their 6-byte header) and
// keeps the SIP payloads (generic chunk 0x000f) of packets with protocol
// type SIP (chunk 0x000b = 1).
type hepCollector struct {
	pc  net.PacketConn
	mu  sync.Mutex
	sip []string
	bad []string
}

func startHEPCollector(t *testing.T) *hepCollector {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &hepCollector{pc: pc}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			c.take(buf[:n])
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return c
}

func (c *hepCollector) take(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(b) < 6 || string(b[:4]) != "HEP3" || int(b[4])<<8|int(b[5]) != len(b) {
		c.bad = append(c.bad, fmt.Sprintf("header % x", b[:min(6, len(b))]))
		return
	}
	chunks := map[int][]byte{}
	for p := b[6:]; len(p) > 0; {
		if len(p) < 6 {
			c.bad = append(c.bad, "truncated chunk")
			return
		}
		vendor, typ, n := int(p[0])<<8|int(p[1]), int(p[2])<<8|int(p[3]), int(p[4])<<8|int(p[5])
		if n < 6 || n > len(p) {
			c.bad = append(c.bad, fmt.Sprintf("chunk %d length %d", typ, n))
			return
		}
		if vendor == 0 {
			chunks[typ] = p[6:n]
		}
		p = p[n:]
	}
	for _, typ := range []int{1, 2, 7, 8, 9, 10, 11, 12, 15} {
		if _, ok := chunks[typ]; !ok {
			c.bad = append(c.bad, fmt.Sprintf("chunk %d missing", typ))
			return
		}
	}
	if pt := chunks[11]; len(pt) != 1 || pt[0] != 1 {
		c.bad = append(c.bad, "protocol type not SIP")
		return
	}
	if id := chunks[12]; len(id) != 4 || int(id[0])<<24|int(id[1])<<16|int(id[2])<<8|int(id[3]) != 4242 {
		c.bad = append(c.bad, fmt.Sprintf("capture id % x", id))
		return
	}
	c.sip = append(c.sip, string(chunks[15]))
}

func (c *hepCollector) payloads() ([]string, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.sip...), append([]string(nil), c.bad...)
}

// subsequence reports whether want appears in got in order.
func subsequence(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// TestLadderSIPpCall: SIPp calls through the gateway to a SIPp UAS; the
// call's ladder has both legs, each with INVITE/100/180/200/ACK/BYE/200 in
// order, the B leg's INVITE after the caller's and each response relayed
// after it arrived; the PCAP export is read by tshark as the same SIP
// messages; the HEP collector got every one of them; and a flood of junk
// INVITEs afterwards does not evict the call's ladder.
func TestLadderSIPpCall(t *testing.T) {
	hep := startHEPCollector(t)
	uasPort := freeUDPPort(t, "127.0.0.2")
	startUAS(t, "call_uas.xml", uasPort)
	g := startGateway(t, callsConfig(uasPort)+fmt.Sprintf("ladder: {calls: 3}\nhep: {enabled: true, collector: \"udp://%s\", id: 4242}\n",
		hep.pc.LocalAddr()))
	if out, err := runUAC(t, "call_uac_auth.xml", g.UDP, "2000", 1); err != nil {
		t.Fatalf("sipp uac: %v\n%s\ngateway:\n%s", err, tail(out, 3000), tail(g.log.String(), 3000))
	}

	var list []struct {
		ID     string `json:"id"`
		Status int    `json:"status"`
	}
	code, body := g.api("GET", "/api/v1/ladders")
	if code != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list) != 1 || list[0].Status != 200 {
		t.Fatalf("ladders: %d %s", code, body)
	}
	id := list[0].ID
	want := map[int][]string{
		0: {"in INVITE", "out 100 Trying", "out 180 Ringing", "out 200 OK", "in ACK", "in BYE", "out 200 OK"},
		1: {"out INVITE", "in 180 Ringing", "in 200 OK", "out ACK", "out BYE", "in 200 OK"},
	}
	var v ladderView
	legs := map[int][]string{}
	for deadline := time.Now().Add(10 * time.Second); ; {
		code, body = g.api("GET", "/api/v1/ladders/"+id)
		v = ladderView{}
		if code != http.StatusOK || json.Unmarshal(body, &v) != nil {
			t.Fatalf("ladder %s: %d %s", id, code, body)
		}
		legs = map[int][]string{}
		for _, m := range v.Messages {
			legs[m.Leg] = append(legs[m.Leg], m.Direction+" "+m.Label)
		}
		if subsequence(legs[0], want[0]) && subsequence(legs[1], want[1]) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // the last 200 OK may be on its way
	}
	if len(v.CallIDs) != 2 || v.CallIDs[0] != id {
		t.Fatalf("call ids %v", v.CallIDs)
	}
	for leg, w := range want {
		if !subsequence(legs[leg], w) {
			t.Errorf("leg %d: %q, want in order %q", leg, legs[leg], w)
		}
	}
	// Across the legs: the B leg's INVITE after the caller's, each
	// response relayed after it arrived.
	var all []string
	for _, m := range v.Messages {
		all = append(all, fmt.Sprintf("%d %s %s", m.Leg, m.Direction, m.Label))
	}
	if !subsequence(all, []string{"0 in INVITE", "1 out INVITE", "1 in 180 Ringing", "0 out 180 Ringing", "1 in 200 OK", "0 out 200 OK",
		"0 in BYE", "1 out BYE"}) {
		t.Errorf("ladder out of order:\n%s", strings.Join(all, "\n"))
	}
	if len(v.Parties) != 3 || !v.Parties[1].Gateway || !strings.HasPrefix(v.Parties[2].Name, "127.0.0.2:") {
		t.Errorf("parties %+v, want caller, gateway, the UAS on 127.0.0.2", v.Parties)
	}

	// The call's setup times, RTP counters and outcome are in /metrics.
	res, err := httpClient.Get("https://" + g.HTTP + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, w := range []string{`switchboard_call_setup_seconds_count{stage="ringing"} 1`, `switchboard_call_setup_seconds_count{stage="answer"} 1`,
		`switchboard_rtp_loss_ratio_count{side="caller"} 1`, `switchboard_rtp_jitter_seconds_count{side="caller"} 1`,
		`switchboard_calls_ended_total{status_class="2xx"} 1`} {
		if !strings.Contains(string(mb), w+"\n") {
			t.Errorf("/metrics lacks %q", w)
		}
	}

	// The PCAP export, read by tshark.
	tshark := requireTool(t, "tshark")
	req, _ := http.NewRequest("GET", "https://"+g.HTTP+"/api/v1/ladders/"+id+".pcap", nil)
	g.authorize(req)
	res, err = httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "call.pcap")
	out, _ := os.Create(f)
	_, err = out.ReadFrom(res.Body)
	res.Body.Close()
	out.Close()
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("pcap: %d %v", res.StatusCode, err)
	}
	tsh, err := outputChild(exec.Command(tshark, "-r", f, "--enable-heuristic", "sip_udp", "--enable-heuristic", "sip_tcp",
		"-T", "fields", "-E", "separator=|", "-e", "sip.Call-ID", "-e", "sip.CSeq.method", "-e", "sip.Status-Code"))
	if err != nil {
		t.Fatalf("tshark -r: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(tsh)), "\n")
	if len(lines) != len(v.Messages) {
		t.Errorf("tshark read %d SIP messages, the ladder has %d:\n%s", len(lines), len(v.Messages), tsh)
	}
	for i, l := range lines {
		if i < len(v.Messages) && !strings.HasPrefix(l, v.Messages[i].CallID+"|") {
			t.Errorf("pcap packet %d: %q, want Call-ID %s", i, l, v.Messages[i].CallID)
		}
	}

	// HEP: every message of the call reached the collector.
	var got []string
	for deadline := time.Now().Add(10 * time.Second); ; {
		ps, bad := hep.payloads()
		if len(bad) > 0 {
			t.Fatalf("bad HEP packets: %v", bad)
		}
		got = got[:0]
		for _, p := range ps {
			for _, cid := range v.CallIDs {
				if strings.Contains(p, "Call-ID: "+cid+"\r\n") {
					got = append(got, p)
				}
			}
		}
		if len(got) >= len(v.Messages) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(got) != len(v.Messages) {
		t.Errorf("HEP carried %d messages of the call, the ladder has %d", len(got), len(v.Messages))
	}
	for i := range min(len(got), len(v.Messages)) {
		if got[i] != v.Messages[i].Text {
			t.Errorf("HEP message %d differs from the ladder's:\n%s\n---\n%s", i, got[i], v.Messages[i].Text)
			break
		}
	}

	// A flood of INVITEs with fresh Call-IDs that never authenticate (the
	// ladder keeps 3 calls) leaves the call's ladder in place.
	c, err := net.Dial("udp", g.UDP)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	for i := range 200 {
		fmt.Fprintf(c, "INVITE sip:2000@example.com SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKjunk%d;rport\r\nMax-Forwards: 70\r\n"+
			"From: <sip:u1000@example.com>;tag=j%d\r\nTo: <sip:2000@example.com>\r\nCall-ID: junk-%d\r\nCSeq: 1 INVITE\r\n"+
			"Contact: <sip:u1000@%s>\r\nContent-Length: 0\r\n\r\n", local, i, i, i, local)
	}
	buf := make([]byte, 65535)
	answered := 0
	for answered < 200 {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			break
		}
		if strings.HasPrefix(string(buf[:n]), "SIP/2.0 407") {
			answered++
		}
	}
	if answered < 150 {
		t.Errorf("only %d junk INVITEs challenged", answered)
	}
	if code, body := g.api("GET", "/api/v1/ladders/"+id); code != http.StatusOK {
		t.Errorf("the call's ladder after the flood: %d %s", code, body)
	}
	code, body = g.api("GET", "/api/v1/ladders")
	if code != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list) != 1 {
		t.Errorf("ladders after the flood: %d %s", code, body)
	}
}

// TestLadderWebSocket: over WSS and WS (sipgo's write hook, the listener's
// scheme) the ladder has the caller's INVITE, our 100 and 404, and the
// ACK, each with its transport.
func TestLadderWebSocket(t *testing.T) {
	g := startGateway(t, "security: {trusted_callers: [127.0.0.0/8]}\n")
	for _, scheme := range []string{"wss", "ws"} {
		addr := g.WSS
		if scheme == "ws" {
			addr = g.WS
		}
		c := dialWS(t, scheme, addr, g.WSPath)
		inv := c.request("INVITE", "3000", "Contact: <sip:3000@"+c.host+";transport=ws>")
		inv = strings.Replace(inv, "INVITE sip:example.com SIP/2.0", "INVITE sip:3000@example.com SIP/2.0", 1)
		c.write(ws.NewFrame(ws.OpText, true, []byte(inv)))
		res := c.readSIP()
		for res.Status < 200 {
			res = c.readSIP()
		}
		if res.Status != 404 {
			t.Fatalf("%s: final %d, want 404 (no route)", scheme, res.Status)
		}
		ack := strings.Replace(strings.Replace(inv, "INVITE sip:", "ACK sip:", 1), "INVITE\r\n", "ACK\r\n", 1)
		ack = regexp.MustCompile(`(?m)^To: .*\r\n`).ReplaceAllString(ack, "To: "+res.get("To")+"\r\n")
		c.write(ws.NewFrame(ws.OpText, true, []byte(ack)))

		var v ladderView
		var got []string
		for deadline := time.Now().Add(10 * time.Second); ; {
			code, body := g.api("GET", "/api/v1/ladders/"+c.callID)
			v = ladderView{}
			if code != http.StatusOK || json.Unmarshal(body, &v) != nil {
				t.Fatalf("%s ladder: %d %s", scheme, code, body)
			}
			got = got[:0]
			for _, m := range v.Messages {
				got = append(got, m.Direction+" "+m.Label)
			}
			if len(got) >= 4 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if strings.Join(got, ", ") != "in INVITE, out 100 Trying, out 404 Not Found, in ACK" {
			t.Errorf("%s ladder %q", scheme, got)
		}
		for _, m := range v.Messages {
			if m.Transport != scheme {
				t.Errorf("%s ladder: %s %s over %q", scheme, m.Direction, m.Label, m.Transport)
			}
		}
	}
}
