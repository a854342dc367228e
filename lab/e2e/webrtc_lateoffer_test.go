package e2e

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestWebRTCLateOfferFromPBX: the PBX (SIPp on the trunk's address,
// call_uac_inbound_late_offer.xml) calls a user whose only contact is a
// browser with an INVITE without SDP (Cisco UCM's delayed offer). The
// gateway offers to the browser (WebRTC SDP: ICE-lite, DTLS, PCMU), relays
// the browser's answer as its offer in the 200 and takes the PBX's answer
// from the ACK (RFC 3261 §13.2.1, RFC 3264); then the PBX re-INVITEs
// without SDP on the established call and answers the 200's offer in its
// ACK (§14.2). SIPp checks the offers; audio flows both ways: the
// browser's inbound RTP keeps growing after the re-INVITE, and the relay
// counts the browser's packets towards the PBX.
func TestWebRTCLateOfferFromPBX(t *testing.T) {
	pbxPort := freeUDPPort(t, "127.0.0.2")
	g := startGateway(t, inboundConfig(pbxPort, ""))
	br := newWRBrowser(t, g, "u1001")
	const phase = 2000 // ms of RTP before and after the re-INVITE
	uac := startSIPpTone(t, "call_uac_inbound_late_offer.xml", "127.0.0.2", pbxPort, g.UDP,
		"-s", "1001", "-m", "1", "-d", strconv.Itoa(phase))

	var inv *sipMsg
	select {
	case inv = <-br.in:
	case <-time.After(15 * time.Second):
		_, l := g.api("GET", "/api/v1/ladders")
		_ = uac.cmd.Process.Kill()
		err := <-uac.done
		uac.done <- err
		fs, _ := filepath.Glob(filepath.Join(uac.dir, "*"))
		var dump string
		for _, f := range fs {
			b, _ := os.ReadFile(f)
			if len(b) < 5000 {
				dump += f + ":\n" + string(b) + "\n"
			}
		}
		t.Fatalf("no INVITE at the browser within 15 s; the gateway's ladders: %s\nsipp: %s\n%s\ngateway:\n%s", l, uac.out.String(), dump, tail(g.log.String(), 2000))
	}
	if inv == nil {
		t.Fatal("websocket closed")
	}
	for inv.Status == 100 {
		inv = br.next(15 * time.Second)
	}
	if inv.Method != "INVITE" {
		t.Fatalf("browser got %q, want INVITE", inv.Raw)
	}
	for _, want := range []string{"UDP/TLS/RTP/SAVPF", "a=ice-lite", "a=fingerprint:", "PCMU/8000"} {
		if !strings.Contains(inv.Body, want) {
			t.Errorf("the gateway's offer to the browser lacks %q:\n%s", want, inv.Body)
		}
	}
	tag := randHex(4)
	br.reply(inv, 180, "Ringing", tag, "")
	ans, err := br.pc.Answer([]byte(inv.Body))
	if err != nil {
		t.Fatalf("browser cannot answer the gateway's offer: %v\n%s", err, inv.Body)
	}
	br.reply(inv, 200, "OK", tag, string(ans))
	br.pc.Stream(true)

	// the browser's received audio, sampled until the BYE comes
	type sample struct {
		at time.Time
		rx uint64
	}
	var mu sync.Mutex
	var samples []sample
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tk := time.NewTicker(50 * time.Millisecond)
		defer tk.Stop()
		for {
			_, rx, _ := br.pc.Counts()
			mu.Lock()
			samples = append(samples, sample{time.Now(), rx})
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-tk.C:
			}
		}
	}()
	var bye *sipMsg
	for bye == nil {
		m := br.next(time.Duration(2*phase)*time.Millisecond + 30*time.Second)
		switch m.Method {
		case "BYE":
			bye = m
		case "INVITE":
			t.Errorf("the PBX's re-INVITE without SDP reached the browser:\n%s", m.Raw)
			br.reply(m, 200, "OK", "", string(ans))
		}
	}
	byeAt := time.Now()
	close(stop)
	<-sampled
	br.reply(bye, 200, "OK", "", "")
	uac.wait(t, 30*time.Second, g)

	// audio at the browser in the last second before the BYE: after the
	// re-INVITE (the second phase lasts `phase` ms)
	mu.Lock()
	var before uint64
	for _, s := range samples {
		if s.at.Before(byeAt.Add(-time.Second)) {
			before = s.rx
		}
	}
	last := samples[len(samples)-1].rx
	mu.Unlock()
	t.Logf("browser received %d packets in all, %d in the second before the BYE", last, last-before)
	if last-before < 10 {
		t.Errorf("browser got %d packets in the second before the BYE, after the re-INVITE: want the PBX's audio still flowing", last-before)
	}
	var rtpA, rtpB int
	waitFor(t, 10*time.Second, "call ended with media counts", func() bool {
		m := reCallEnded.FindStringSubmatch(g.log.String())
		if m == nil {
			return false
		}
		rtpA, _ = strconv.Atoi(m[1])
		rtpB, _ = strconv.Atoi(m[2])
		return true
	})
	t.Logf("relay: %d packets from the PBX, %d from the browser", rtpA, rtpB)
	if rtpA < 50 || rtpB < 50 {
		t.Errorf("relay counted %d packets from the PBX and %d from the browser: want audio both ways", rtpA, rtpB)
	}
	if strings.Contains(g.log.String(), "without a usable answer") || strings.Contains(g.log.String(), "answer in ACK rejected") {
		t.Errorf("an ACK's answer was refused:\n%s", tail(g.log.String(), 3000))
	}
	g.released(t, 15*time.Second, 0, 0)
}

// startSIPpTone is startSIPp (calls_inbound_test.go) for a scenario that
// streams RTP: SIPp reads its <exec rtp_stream> file, tone.ulaw (one
// second of μ-law), from its run directory when it loads the scenario.
func startSIPpTone(t *testing.T, scenario, host string, port int, args ...string) *sippProc {
	t.Helper()
	sipp := requireTool(t, "sipp")
	r := &sippProc{dir: t.TempDir(), done: make(chan error, 1)}
	tone := bytes.Repeat([]byte{0x7f, 0xff, 0x7f, 0x00}, 2000)
	if err := os.WriteFile(filepath.Join(r.dir, "tone.ulaw"), tone, 0o600); err != nil {
		t.Fatal(err)
	}
	media, ctrl := sippMediaPorts(t, host, port)
	all := append([]string{"-sf", filepath.Join(sippDir(t), scenario), "-i", host, "-p", strconv.Itoa(port),
		"-mp", strconv.Itoa(media), "-cp", strconv.Itoa(ctrl),
		"-nostdin", "-timeout", "60s", "-timeout_error", "-trace_err"}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	r.cmd = exec.CommandContext(ctx, sipp, all...)
	r.cmd.Dir = r.dir
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	done, err := startChild(r.cmd)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { r.done <- <-done }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			r.done <- err
		case <-time.After(5 * time.Second):
		}
		if t.Failed() {
			t.Logf("sipp %s output (tail):\n%s", scenario, tail(r.out.String()+r.errors(), 3000))
		}
	})
	return r
}

// sippMediaPorts picks SIPp's media port on host, with media+2 free too
// (SIPp binds both), and a control port, none of them sip.
func sippMediaPorts(t *testing.T, host string, sip int) (media, ctrl int) {
	t.Helper()
	free := func(p int) bool {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			_ = pc.Close()
		}
		return err == nil
	}
	for range 100 {
		p := freeUDPPort(t, host)
		switch {
		case p == sip || p == sip-2 || p == media || p == media+2:
		case media == 0:
			if p+2 <= 65535 && free(p+2) {
				media = p
			}
		default:
			return media, p
		}
	}
	t.Fatal("no free SIPp media and control ports")
	return 0, 0
}
