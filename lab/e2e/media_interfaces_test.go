package e2e

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Issue 11, "Media addresses per side": the PBX leg's SDP carries the LAN
// interface's address, the phone's the public one, and an IPv6 leg gets
// c=IN IP6 with its relay side on the IPv6 address.

// mediaPBX is a PBX on host that answers every INVITE at once with its
// RTP port on host; the offers it got arrive on invited.
func mediaPBX(t *testing.T, host string, rtp *rtpPort) (*sipAgent, chan string) {
	t.Helper()
	invited := make(chan string, 4)
	pbx := newAgentAt(t, host, func(a *sipAgent) {
		_, port, _ := net.SplitHostPort(a.addr)
		p, _ := strconv.Atoi(port)
		contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: uriHost(host), Port: p}}
		ds := sipgo.NewDialogServerCache(a.client, contact)
		a.srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
			dlg, err := ds.ReadInvite(req, tx)
			if err != nil {
				return
			}
			invited <- string(req.Body())
			_ = dlg.Respond(200, "OK", []byte(answerAt(string(req.Body()), host, rtp.port)),
				sip.NewHeader("Content-Type", "application/sdp"))
		})
		a.srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = ds.ReadAck(req, tx) })
		a.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) { _ = ds.ReadBye(req, tx) })
	})
	return pbx, invited
}

// uriHost is host as a SIP URI writes it: IPv6 in brackets (RFC 3261 §25.1).
func uriHost(host string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}

// newAgentAt is newSIPAgent for an IPv4 or IPv6 host: sipgo wants an
// IPv6 host in brackets in its Via and URIs.
func newAgentAt(t *testing.T, host string, setup func(*sipAgent)) *sipAgent {
	t.Helper()
	if !strings.Contains(host, ":") {
		return newSIPAgent(t, host, setup)
	}
	port := freeUDPPort(t, host)
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname(uriHost(host)))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname(uriHost(host)))
	if err != nil {
		t.Fatal(err)
	}
	a := &sipAgent{ua: ua, srv: srv, client: client, addr: net.JoinHostPort(host, strconv.Itoa(port))}
	if setup != nil {
		setup(a)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	go func() {
		_ = srv.ListenAndServe(context.WithValue(ctx, sipgo.ListenReadyCtxKey, sipgo.ListenReadyCtxValue(ready)), "udp", a.addr)
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("sip agent did not start")
	}
	t.Cleanup(func() { cancel(); _ = ua.Close() })
	return a
}

// sdpBodyAt is mediaBody for an IPv4 or IPv6 host (c=IN IP6, RFC 4566
// §5.7) offering PCMU.
func sdpBodyAt(host string, port int) string {
	body := mediaBody(host, port, "", 0)
	if strings.Contains(host, ":") {
		body = strings.ReplaceAll(body, "IN IP4", "IN IP6")
	}
	return body
}

// answerAt is answerFor for an IPv4 or IPv6 host.
func answerAt(offer, host string, port int) string {
	body := answerFor(offer, host, port)
	if strings.Contains(host, ":") {
		body = strings.ReplaceAll(body, "IN IP4", "IN IP6")
	}
	return body
}

var reConnAny = regexp.MustCompile(`c=IN (IP[46]) (\S+)`)

// sdpConn is the address type and the RTP address of an SDP body.
func sdpConn(t *testing.T, body string) (string, netip.AddrPort) {
	t.Helper()
	c, m := reConnAny.FindStringSubmatch(body), reAudio.FindStringSubmatch(body)
	if c == nil || m == nil {
		t.Fatalf("no media address in SDP:\n%s", body)
	}
	port, _ := strconv.Atoi(m[1])
	return c[1], netip.AddrPortFrom(netip.MustParseAddr(c[2]), uint16(port))
}

// startGatewayConfig writes cfg (the whole file but data_dir) and starts
// serve on it, like startGateway.
func startGatewayConfig(t *testing.T, cfg string) *gateway {
	t.Helper()
	dir := t.TempDir()
	g := &gateway{t: t, dir: dir, cfgPath: filepath.Join(dir, "switchboard.yaml"), dataDir: filepath.Join(dir, "data")}
	cfg = "data_dir: " + g.dataDir + "\n" + cfg
	if !strings.Contains("\n"+cfg, "\nturn:") {
		cfg += "\nturn: {enabled: false}\n" // STUN/TURN's default ports would collide between parallel gateways
	}
	if !strings.Contains("\n"+cfg, "\nwebrtc:") {
		cfg += "webrtc: {port: 0}\n" // any free UDP port: gateways run side by side
	}
	if !strings.Contains("\n"+cfg, "\nattendant:") {
		cfg += "attendant: {console_link: {tls: \"\"}}\n" // the console link's 51235 would collide
	}
	if err := os.WriteFile(g.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	g.start()
	t.Cleanup(g.cleanup)
	return g
}

// TestMediaInterfacesPerLeg: a phone (127.0.0.1) calls the PBX (127.0.0.2)
// through a gateway with two media interfaces: "public" on every address,
// advertised as 127.0.0.4 (a public address forwarded to the gateway), the
// first and so the phones' one; "lan" on 127.0.0.3, the PBX trunk's. The
// INVITE the PBX gets carries the LAN address, the 200 the phone gets the
// public one, and RTP flows both ways through them.
func TestMediaInterfacesPerLeg(t *testing.T) {
	portMin := freeMediaRange(t, mediaRangeLen)
	pbxRTP := newRTPPort(t, "127.0.0.2")
	pbx, invited := mediaPBX(t, "127.0.0.2", pbxRTP)
	_, pbxPort, _ := net.SplitHostPort(pbx.addr)
	g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
security: {trusted_callers: [127.0.0.0/8], exempt_sources: [127.0.0.0/8]}
media:
  port_min: %d
  port_max: %d
  interfaces:
    - {name: public, address: 0.0.0.0, advertise: 127.0.0.4}
    - {name: lan, address: 127.0.0.3}
trunks:
  - name: pbx
    target: sip:127.0.0.2:%s
    probe: {interval: 0s}
    match: ["200x"]
    media_interface: lan
`, portMin, portMin+mediaRangeLen-1, pbxPort))
	ph := newTestPhone(t)
	phoneRTP := newRTPPort(t, "127.0.0.1")
	ph.port = phoneRTP.port
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", phoneRTP.port, "", 0))
	defer func() { _ = s.Bye(ctx) }()

	var offer string
	select {
	case offer = <-invited:
	case <-ctx.Done():
		t.Fatal("the PBX got no INVITE")
	}
	_, toPBX := sdpConn(t, offer) // where the PBX sends: the LAN side
	_, toPhone := sdpConn(t, string(s.InviteResponse.Body()))
	if toPBX.Addr() != netip.MustParseAddr("127.0.0.3") {
		t.Errorf("the PBX leg's SDP says %v, want the LAN interface 127.0.0.3:\n%s", toPBX, offer)
	}
	if toPhone.Addr() != netip.MustParseAddr("127.0.0.4") {
		t.Errorf("the phone leg's SDP says %v, want the public interface's advertised 127.0.0.4:\n%s", toPhone, s.InviteResponse.Body())
	}
	if n := flows(t, phoneRTP, toPhone, pbxRTP, 0); n < 15 {
		t.Errorf("phone → PBX: %d/20 packets", n)
	}
	if n := flows(t, pbxRTP, toPBX, phoneRTP, 0); n < 15 {
		t.Errorf("PBX → phone: %d/20 packets", n)
	}
	if t.Failed() {
		t.Logf("gateway log:\n%s", g.log.String())
	}
}

// TestMediaIPv6Call: a phone on ::1 calls a PBX on ::1 through a gateway
// that listens on [::1] (no media.interfaces: the defaults). Both legs'
// SDP say c=IN IP6 ::1, the relay's sides are bound on ::1, and RTP flows
// both ways.
func TestMediaIPv6Call(t *testing.T) {
	if c, err := net.ListenPacket("udp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	} else {
		_ = c.Close()
	}
	v6 := netip.IPv6Loopback()
	portMin := freeMediaRange(t, mediaRangeLen)
	pbxRTP := newRTPPort(t, "::1")
	pbx, invited := mediaPBX(t, "::1", pbxRTP)
	_, pbxPort, _ := net.SplitHostPort(pbx.addr)
	g := startGatewayConfig(t, fmt.Sprintf(`domain: example.com
log: {level: info}
sip: {listen: ["udp://[::1]:0"]}
http: {listen: 127.0.0.1:0}
registrar: {algorithms: [MD5, SHA-256]}
security: {trusted_callers: ["::1"], exempt_sources: ["::1"]}
users:
  - {username: u1000, password: secret}
media: {port_min: %d, port_max: %d}
trunks:
  - name: pbx
    target: "sip:[::1]:%s"
    probe: {interval: 0s}
    match: ["200x"]
`, portMin, portMin+mediaRangeLen-1, pbxPort))
	if !strings.HasPrefix(g.UDP, "[::1]:") {
		t.Fatalf("gateway UDP listener %q", g.UDP)
	}
	var d *sipgo.DialogClientCache
	newAgentAt(t, "::1", func(a *sipAgent) {
		_, port, _ := net.SplitHostPort(a.addr)
		p, _ := strconv.Atoi(port)
		d = sipgo.NewDialogClientCache(a.client, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "u1000", Host: "[::1]", Port: p}})
		a.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) { _ = d.ReadBye(req, tx) })
	})
	phoneRTP := newRTPPort(t, "::1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, gwPort, _ := net.SplitHostPort(g.UDP)
	gp, _ := strconv.Atoi(gwPort)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "u1000", Host: "example.com"}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	s, err := d.Invite(ctx, sip.Uri{Scheme: "sip", User: "2000", Host: "[::1]", Port: gp}, []byte(sdpBodyAt("::1", phoneRTP.port)),
		from, sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatalf("INVITE: %v\n%s", err, g.log.String())
	}
	if err := s.WaitAnswer(ctx, answerOpts()); err != nil {
		t.Fatalf("answer: %v\n%s", err, g.log.String())
	}
	if err := s.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Bye(ctx) }()

	var offer string
	select {
	case offer = <-invited:
	case <-ctx.Done():
		t.Fatal("the PBX got no INVITE")
	}
	answer := string(s.InviteResponse.Body())
	typB, toPBX := sdpConn(t, offer)
	typA, toPhone := sdpConn(t, answer)
	if typB != "IP6" || toPBX.Addr() != v6 {
		t.Errorf("the PBX leg's SDP: c=IN %s %v, want IN IP6 ::1:\n%s", typB, toPBX.Addr(), offer)
	}
	if typA != "IP6" || toPhone.Addr() != v6 {
		t.Errorf("the phone leg's SDP: c=IN %s %v, want IN IP6 ::1:\n%s", typA, toPhone.Addr(), answer)
	}
	if !strings.Contains(offer, "IN IP6 ::1") || !strings.Contains(answer, "IN IP6 ::1") {
		t.Errorf("o= or c= not IPv6:\n%s\n%s", offer, answer)
	}
	if n := flows(t, phoneRTP, toPhone, pbxRTP, 0); n < 15 {
		t.Errorf("phone → PBX over IPv6: %d/20 packets", n)
	}
	if n := flows(t, pbxRTP, toPBX, phoneRTP, 0); n < 15 {
		t.Errorf("PBX → phone over IPv6: %d/20 packets", n)
	}
	if t.Failed() {
		t.Logf("gateway log:\n%s", g.log.String())
	}
}
