package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Ringback with forking (issue 11, RFC 3960 §3): a transfer target or a
// click-to-dial number that is a local user with several devices rings
// on all of them. The waiting party hears the gateway's ringback while
// they ring without SDP, the early media of the device that sends some,
// and the ringback again when that device fails while another still
// rings: a UAC plays local ringback whenever a 180 came and no early
// media is being received.

// forkRingConfig is dialogConfig's trunk to the PBX with u1000 and u1001
// (two raw UDP devices register for u1001 in the tests).
func forkRingConfig(addr string) string {
	return dialogConfig(addr) + "users:\n  - {username: u1000, password: secret}\n  - {username: u1001, password: secret}\n"
}

// forkDevices registers n raw UDP devices for user.
func forkDevices(t *testing.T, g *gateway, user string, n int) []*rawEnd {
	t.Helper()
	var ends []*rawEnd
	for range n {
		dev := dialSIP(t, "udp", "127.0.0.1", g.UDP)
		if res := dev.register(user, "secret"); res.Status != 200 {
			t.Fatalf("REGISTER %s: %d %s", user, res.Status, res.Reason)
		}
		ends = append(ends, newRawEnd(t, dev))
	}
	return ends
}

// toneAfter is the most 40 ms windows of 425 Hz that one stream has among
// the packets from index from on, and that stream's SSRC. (The relay
// plays a tone on the stream the party already gets: its SSRC and
// sequence numbers, RFC 3550 §5.1; the early media in these tests is
// silence.)
func toneAfter(ps []rtpRec, from int) (windows int, ssrc uint32) {
	rest := ps[min(from, len(ps)):]
	seen := map[uint32]bool{}
	for _, p := range rest {
		if seen[p.ssrc] {
			continue
		}
		seen[p.ssrc] = true
		if n := loud425(rest, p.ssrc); n > windows {
			windows, ssrc = n, p.ssrc
		}
	}
	return windows, ssrc
}

// earlyThenFail plays the failing device's part: 183 with SDP, 50
// packets of early media (silence; its SSRC is its RTP port), then 486;
// it checks the waiting party heard that stream and no tone meanwhile,
// and returns how many packets the party had got when the 486 went.
func earlyThenFail(t *testing.T, dev *rawEnd, inv *sipMsg, rec *rtpRecorder, tone uint32) int {
	t.Helper()
	early := newRTPPort(t, "127.0.0.1")
	dev.respond(inv, 183, "Session Progress", answerFor(inv.Body, "127.0.0.1", early.port))
	relay := sdpAddr(t, inv.Body)
	<-sendRTP(t, early, func() netip.AddrPort { return relay }, 50)
	time.Sleep(200 * time.Millisecond)
	ps := rec.snapshot()
	afterTone(t, ps, tone, uint32(early.port))
	dev.respond(inv, 486, "Busy Here", "")
	dev.next("ACK of the 486", 5*time.Second, isMethod("ACK"))
	return len(ps)
}

// toneAgain waits for the ringback to come back in the packets from
// index from on, and returns the SSRC it came on.
func toneAgain(t *testing.T, rec *rtpRecorder, from int, log func() string) uint32 {
	t.Helper()
	var n int
	var ssrc uint32
	if !rec.waitFor(10*time.Second, func(ps []rtpRec) bool {
		n, ssrc = toneAfter(ps, from)
		return n >= 10
	}) {
		t.Fatalf("no ringback after the device with early media failed while another rang: %d windows of 425 Hz\n%s", n, log())
	}
	t.Logf("ringback again after the early media's device failed: %d windows of 425 Hz, SSRC %08x", n, ssrc)
	return ssrc
}

// TestBlindTransferForkRingback: the phone REFERs 2000 (on the PBX) to
// u1001 and hangs up; u1001's two devices ring. Device B sends a 180
// without SDP: 2000 hears the gateway's ringback. Device A sends 183
// with SDP and early media: 2000 hears A's stream and no tone. A then
// answers 486 while B still rings: 2000 hears the ringback again
// (RFC 3960 §3). B answers: 2000 hears B's stream, never the tone again,
// and the transfer completes.
func TestBlindTransferForkRingback(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, forkRingConfig(pbx.agent.addr))
	devs := forkDevices(t, g, "u1001", 2)
	a, b := devs[0], devs[1]
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0, 101))
	far := pbx.get("2000")
	rec := recordRTP(t, far.rtp)
	if res := inDialog(ctx, t, s, sip.REFER, "", "", sip.NewHeader("Refer-To", "<sip:u1001@example.com>")); res.StatusCode != 202 {
		t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
	}
	if err := s.Bye(ctx); err != nil {
		t.Fatalf("BYE right after the 202: %v", err)
	}
	invA := a.next("INVITE to device A", 10*time.Second, isMethod("INVITE"))
	invB := b.next("INVITE to device B", 10*time.Second, isMethod("INVITE"))

	b.respond(invB, 180, "Ringing", "")
	tone := checkRingback(t, rec, g.log.String)
	failed := earlyThenFail(t, a, invA, rec, tone)
	again := toneAgain(t, rec, failed, g.log.String)

	mediaB := newRTPPort(t, "127.0.0.1")
	b.respond(invB, 200, "OK", answerFor(invB.Body, "127.0.0.1", mediaB.port))
	b.next("ACK of the 200", 5*time.Second, isMethod("ACK"))
	if pbx.next(sip.INVITE) == nil {
		t.Fatal("2000 not re-INVITEd towards u1001")
	}
	relay := sdpAddr(t, invB.Body)
	<-sendRTP(t, mediaB, func() netip.AddrPort { return relay }, 50)
	time.Sleep(200 * time.Millisecond)
	ps := rec.snapshot()
	afterTone(t, ps, again, uint32(mediaB.port))
	g.waitLog(`msg="call transferred"`, 5*time.Second)
	if n := strings.Count(g.log.String(), `msg="ringback resumed"`); n != 1 {
		t.Errorf("%d ringback resumed log lines, want 1", n)
	}
}

// TestClickToDialForkRingback: click-to-dial from gateway:u1000 to u1001,
// whose two devices ring once u1000's device answered. Device B rings
// without SDP (u1000 hears the ringback), device A sends early media
// (u1000 hears it) and then fails with 486 while B rings: u1000 hears the
// ringback again until B answers.
func TestClickToDialForkRingback(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, forkRingConfig(pbx.agent.addr))
	dev := dialSIP(t, "udp", "127.0.0.1", g.UDP)
	dev.callID, dev.tag = randHex(8), randHex(4)
	if res := dev.register("u1000", "secret"); res.Status != 200 {
		t.Fatalf("REGISTER: %d %s", res.Status, res.Reason)
	}
	devs := forkDevices(t, g, "u1001", 2)
	a, b := devs[0], devs[1]
	if code, body := g.apiJSON("POST", "/api/v1/calls", `{"from":"gateway:u1000","to":"u1001"}`); code != 201 {
		t.Fatalf("make call: %d %s", code, body)
	}
	inv := rawRequest(t, dev, "INVITE", 10*time.Second)
	rtp := newRTPPort(t, "127.0.0.1")
	rec := recordRTP(t, rtp)
	dev.send(deviceAnswer(dev, inv, 200, "OK", randHex(4), answerFor(inv[strings.Index(inv, "\r\n\r\n")+4:], "127.0.0.1", rtp.port)))
	rawRequest(t, dev, "ACK", 5*time.Second)

	invA := a.next("INVITE to device A", 10*time.Second, isMethod("INVITE"))
	invB := b.next("INVITE to device B", 10*time.Second, isMethod("INVITE"))
	b.respond(invB, 180, "Ringing", "")
	tone := checkRingback(t, rec, g.log.String)
	failed := earlyThenFail(t, a, invA, rec, tone)
	again := toneAgain(t, rec, failed, g.log.String)

	mediaB := newRTPPort(t, "127.0.0.1")
	b.respond(invB, 200, "OK", answerFor(invB.Body, "127.0.0.1", mediaB.port))
	b.next("ACK of the 200", 5*time.Second, isMethod("ACK"))
	relay := sdpAddr(t, invB.Body)
	<-sendRTP(t, mediaB, func() netip.AddrPort { return relay }, 50)
	time.Sleep(200 * time.Millisecond)
	afterTone(t, rec.snapshot(), again, uint32(mediaB.port))
}

// forkCallerScenario is a plain SIP phone calling [service] (SIPp UAC):
// 407, then authenticated, with its RTP at [field2] (the test's RTP
// socket, which SIPp does not bind); it takes the ringing and early
// media the gateway relays, then the 200, ACKs, and hangs up after 1 s.
const forkCallerScenario = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="UAC to a forked user">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@example.com SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:[field0]@example.com>;tag=[pid]SIPpTag[call_number]
      To: <sip:[service]@example.com>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:[field0]@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP4 127.0.0.1
      s=-
      c=IN IP4 127.0.0.1
      t=0 0
      m=audio [field2] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="407" auth="true"/>
  <send>
    <![CDATA[
      ACK sip:[service]@example.com SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:[field0]@example.com>;tag=[pid]SIPpTag[call_number]
      To: <sip:[service]@example.com>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@example.com SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:[field0]@example.com>;tag=[pid]SIPpTag[call_number]
      To: <sip:[service]@example.com>
      Call-ID: [call_id]
      CSeq: 2 INVITE
      Contact: <sip:[field0]@[local_ip]:[local_port];transport=[transport]>
      [field1]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP4 127.0.0.1
      s=-
      c=IN IP4 127.0.0.1
      t=0 0
      m=audio [field2] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:[field0]@example.com>;tag=[pid]SIPpTag[call_number]
      To: <sip:[service]@example.com>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 ACK
      [routes]
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="1000"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:[field0]@example.com>;tag=[pid]SIPpTag[call_number]
      To: <sip:[service]@example.com>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 3 BYE
      [routes]
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
</scenario>
`

// startForkCaller runs SIPp as u1000 calling number through the gateway
// with its RTP at rtpPort; the returned channel gives SIPp's error (nil:
// the call went as the scenario says) and its output.
func startForkCaller(t *testing.T, g *gateway, number string, rtpPort int) <-chan error {
	t.Helper()
	sipp := requireTool(t, "sipp")
	dir := t.TempDir()
	sf := filepath.Join(dir, "fork_caller.xml")
	inf := filepath.Join(dir, "users.csv")
	csv := fmt.Sprintf("SEQUENTIAL\nu1000;[authentication username=u1000 password=secret];%d\n", rtpPort)
	if err := os.WriteFile(sf, []byte(forkCallerScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inf, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	port, media, ctrl := freeSIPpPorts(t)
	args := []string{"-sf", sf, "-inf", inf, g.UDP, "-s", number, "-auth_uri", number + "@example.com",
		"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mp", strconv.Itoa(media), "-cp", strconv.Itoa(ctrl),
		"-m", "1", "-nostdin", "-timeout", "60s", "-timeout_error", "-trace_err"}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	cmd := exec.CommandContext(ctx, sipp, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	waited, err := startChild(cmd)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		defer cancel()
		err := <-waited
		if err != nil {
			errs, _ := filepath.Glob(filepath.Join(dir, "*_errors.log"))
			for _, f := range errs {
				b, _ := os.ReadFile(f)
				out.WriteString("\nerrors log:\n" + tail(string(b), 3000))
			}
			err = fmt.Errorf("sipp: %w\n%s", err, tail(out.String(), 3000))
		}
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
	})
	return done
}

// TestForkRingbackPlainCaller: a plain SIP phone (SIPp) calls u1001,
// whose two devices ring. Device B rings without SDP: the phone gets the
// 180 and plays its own ringback, the gateway sends it nothing. Device A
// sends 183 with SDP and early media: the phone hears A's stream, and
// now takes what comes on it as the call's progress (RFC 3960 §3: no
// local ringback while early media is being received). A then fails
// with 486 while B still rings: nothing comes on that stream any more,
// so the gateway plays its ringback into it, until B answers and the
// phone hears B (issue 11 gap: "a plain-phone caller to a forked user
// gets no resumed tone").
func TestForkRingbackPlainCaller(t *testing.T) {
	g := startGateway(t, localUsers)
	devs := forkDevices(t, g, "u1001", 2)
	a, b := devs[0], devs[1]
	rtp := newRTPPort(t, "127.0.0.1")
	rec := recordRTP(t, rtp)
	caller := startForkCaller(t, g, "u1001", rtp.port)

	invA := a.next("INVITE to device A", 10*time.Second, isMethod("INVITE"))
	invB := b.next("INVITE to device B", 10*time.Second, isMethod("INVITE"))
	b.respond(invB, 180, "Ringing", "")

	early := newRTPPort(t, "127.0.0.1")
	a.respond(invA, 183, "Session Progress", answerFor(invA.Body, "127.0.0.1", early.port))
	relayA := sdpAddr(t, invA.Body)
	<-sendRTP(t, early, func() netip.AddrPort { return relayA }, 50)
	if !rec.waitFor(5*time.Second, func(ps []rtpRec) bool {
		n := 0
		for _, p := range ps {
			if p.ssrc == uint32(early.port) {
				n++
			}
		}
		return n >= 15
	}) {
		t.Fatalf("the caller did not hear device A's early media: %d packets\n%s", len(rec.snapshot()), g.log.String())
	}
	ps := rec.snapshot()
	for _, p := range ps {
		if p.ssrc != uint32(early.port) {
			t.Fatalf("the caller got a stream (SSRC %08x) other than A's early media before A failed", p.ssrc)
		}
	}
	a.respond(invA, 486, "Busy Here", "")
	a.next("ACK of the 486", 5*time.Second, isMethod("ACK"))
	again := toneAgain(t, rec, len(ps), g.log.String)

	mediaB := newRTPPort(t, "127.0.0.1")
	b.respond(invB, 200, "OK", answerFor(invB.Body, "127.0.0.1", mediaB.port))
	b.next("ACK of the 200", 5*time.Second, isMethod("ACK"))
	relayB := sdpAddr(t, invB.Body)
	<-sendRTP(t, mediaB, func() netip.AddrPort { return relayB }, 50)
	time.Sleep(200 * time.Millisecond)
	afterTone(t, rec.snapshot(), again, uint32(mediaB.port))
	bye := b.next("BYE after the caller's", 10*time.Second, isMethod("BYE"))
	b.respond(bye, 200, "OK", "")
	if err := <-caller; err != nil {
		t.Fatalf("%v\ngateway:\n%s", err, tail(g.log.String(), 3000))
	}
	if n := strings.Count(g.log.String(), `msg="ringback resumed"`); n != 1 {
		t.Errorf("%d ringback resumed log lines, want 1", n)
	}
}
