package b2bua

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestMayPickUp: who may pick up a call ringing at u1001 that u1000
// placed from 127.0.0.1 (pickup.go), with call_policy.pickup on and off.
func TestMayPickUp(t *testing.T) {
	tests := []struct {
		name   string
		user   string
		source string
		pickup bool
		ok     bool
	}{
		{"caller's other device", "u1000", "127.0.0.5:5060", false, true},
		{"from the caller's address", "", "127.0.0.1:5070", false, true},
		{"called user's other device", "u1001", "127.0.0.6:5060", false, true},
		{"another user, pickup on", "u1002", "127.0.0.7:5060", true, true},
		{"another user, pickup off", "u1002", "127.0.0.7:5060", false, false},
		{"unauthenticated stranger, pickup on", "", "127.0.0.9:5060", true, false},
		{"another user, call ringing on a trunk", "u1002", "127.0.0.7:5060", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestB2BUA(Options{Pickup: tt.pickup})
			a := &dialog{callID: "a", localTag: "1", user: "u1000"}
			a.addPeer("127.0.0.1:5060")
			c := &call{gw: b, a: a}
			req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "1001", Host: "example.com"})
			req.SetSource(tt.source)
			callee := "u1001"
			if tt.name == "another user, call ringing on a trunk" {
				callee = ""
			}
			err := b.mayPickUp(pickable{c: c, remoteTag: "x", callee: callee}, tt.user, req)
			if (err == nil) != tt.ok {
				t.Fatalf("mayPickUp(%q from %s) = %v, want allowed %v", tt.user, tt.source, err, tt.ok)
			}
			if err != nil && !errors.Is(err, errPickupRefused) {
				t.Errorf("refusal %v is not errPickupRefused", err)
			}
		})
	}
}

// TestLookupPickable: a branch's early dialog is found by a Replaces with
// the tags from either end's point of view, and only while its call rings.
func TestLookupPickable(t *testing.T) {
	b := newTestB2BUA(Options{})
	c := &call{gw: b}
	br := &branch{user: "u1001", d: &dialog{callID: "cid", localTag: "ours", remoteTag: "dev"}}
	b.notePickable(c, br) // not ringing yet: ignored
	if _, _, ok := b.lookupPickable(replaces{callID: "cid", toTag: "ours", fromTag: "dev"}); ok {
		t.Fatal("pickable before openPickup")
	}
	ch := b.openPickup(c)
	b.notePickable(c, br)
	for _, r := range []replaces{{callID: "cid", toTag: "ours", fromTag: "dev"}, {callID: "cid", toTag: "dev", fromTag: "ours"}} {
		p, got, ok := b.lookupPickable(r)
		if !ok || got != ch || p.callee != "u1001" {
			t.Errorf("lookupPickable(%+v) = %+v, %v", r, p, ok)
		}
	}
	if _, _, ok := b.lookupPickable(replaces{callID: "cid", toTag: "ours", fromTag: "other"}); ok {
		t.Error("found with a wrong remote tag")
	}
	b.closePickup(c)
	if _, _, ok := b.lookupPickable(replaces{callID: "cid", toTag: "ours", fromTag: "dev"}); ok {
		t.Error("pickable after closePickup")
	}
}

// TestPickupSessionTimer: the 2xx to a picker that supports session
// timers says the session interval and that it refreshes (RFC 4028 §9:
// Session-Expires with refresher=uac), as the 2xx to an INVITE with
// Replaces does: the gateway arms the expiry of that leg, and a picker
// told nothing does no timers (§7.2) and was hung up at expiry. The
// pickup's own 2xx builder had left the timer out.
func TestPickupSessionTimer(t *testing.T) {
	ring := startForkDevice(t, false, 0)
	gw, _ := startForkGateway(t, ring)
	c := newCaller(t, gw)
	c.send("INVITE", "sip:1001@example.com", "<sip:1001@example.com>", 1, forkSDP)
	inv := ring.waitFor(t, "INVITE")
	_, fromTag, _ := strings.Cut(inv.get("From"), "tag=")
	fromTag, _, _ = strings.Cut(fromTag, ";")
	// Until the device's 180 reached the gateway there is no early dialog
	// to pick up, and an unauthenticated INVITE with Replaces naming none
	// is challenged (407), not told 481 (replaces.go): wait for the ringing.
	c.awaitRinging()

	picker, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer picker.Close()
	ga, _ := net.ResolveUDPAddr("udp", gw)
	var res rawMsg
	for try := 1; ; try++ {
		msg := fmt.Sprintf("INVITE sip:1001@example.com SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKpick%d;rport\r\n"+
			"From: <sip:5551234@pbx.invalid>;tag=p1\r\nTo: <sip:1001@example.com>\r\nCall-ID: pick-%d\r\nCSeq: 1 INVITE\r\n"+
			"Contact: <sip:picker@%s>\r\nMax-Forwards: 70\r\nReplaces: %s;to-tag=dev;from-tag=%s\r\nSupported: timer\r\n"+
			"Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
			picker.LocalAddr(), try, try, picker.LocalAddr(), inv.get("Call-ID"), fromTag, len(forkSDP), forkSDP)
		if _, err := picker.WriteTo([]byte(msg), ga); err != nil {
			t.Fatal(err)
		}
		res = readFinal(t, picker)
		// 481 until the device's 180 made its early dialog pickable (a
		// bound against a hang, not a timing).
		if res.status() != 481 || try == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if res.status() != 200 {
		t.Fatalf("picker got %s", res.first)
	}
	to := res.get("To")
	ack := fmt.Sprintf("ACK sip:1001@example.com SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKpickack;rport\r\n"+
		"From: <sip:5551234@pbx.invalid>;tag=p1\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		picker.LocalAddr(), to, res.get("Call-ID"))
	_, _ = picker.WriteTo([]byte(ack), ga)
	se := res.get("Session-Expires")
	if !strings.Contains(se, "refresher=uac") {
		t.Errorf("2xx to the picker: Session-Expires %q, want the interval with refresher=uac (RFC 4028 §9)", se)
	}
	if !strings.Contains(res.get("Allow"), "UPDATE") {
		t.Errorf("2xx to the picker: Allow %q", res.get("Allow"))
	}
}

// readFinal reads pc's responses until a final one.
func readFinal(t *testing.T, pc net.PacketConn) rawMsg {
	t.Helper()
	buf := make([]byte, 65536)
	for {
		_ = pc.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, src, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no final response: %v", err)
		}
		if m := parseRaw(buf[:n], src); strings.HasPrefix(m.first, "SIP/2.0") && m.status() >= 200 {
			return m
		}
	}
}
