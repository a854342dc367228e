package app

import (
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"
)

// sendRTPWithGaps sends packets with sequence numbers 1..n from the
// phone's media socket to addr, skipping every gap-th one (RFC 3550 A.3
// counts each skipped number lost once a later one arrives).
func sendRTPWithGaps(p *testPhone, addr *net.UDPAddr, n, gap int, ssrc uint32) (sent int) {
	pkt := make([]byte, 12+160)
	pkt[0], pkt[1] = 0x80, 0 // V=2, PT 0 (PCMU)
	binary.BigEndian.PutUint32(pkt[8:], ssrc)
	for seq := 1; seq <= n; seq++ {
		if seq%gap == 0 {
			continue
		}
		binary.BigEndian.PutUint16(pkt[2:], uint16(seq))
		binary.BigEndian.PutUint32(pkt[4:], uint32(160*(seq-1)))
		if _, err := p.rtp.WriteToUDP(pkt, addr); err != nil {
			p.t.Fatal(err)
		}
		sent++
		time.Sleep(5 * time.Millisecond)
	}
	return sent
}

// TestMediaCallsAPI: a call u1000 → u1001 through the gateway, the caller
// sending RTP that skips every tenth sequence number and the callee a
// clean stream; GET /api/v1/media/calls lists the call under its northbound ID
// (gateway:<id>, as the gateway source's events name it), with the caller's leg's packets in, its
// loss (RFC 3550 A.3) and codec, the callee's leg's packets out, and the
// addresses the phones use. Only an admin may read it.
func TestMediaCallsAPI(t *testing.T) {
	a, l := runGW(t, "")
	p0, p1, pc, id := answeredCall(t, a, l)
	ok := p0.wait("the 200 to the INVITE", func(m *phoneMsg) bool {
		return m.status == 200 && m.get("Call-ID") == pc.cid && strings.HasSuffix(m.get("CSeq"), "INVITE")
	})
	inv := p1.wait("the INVITE", func(m *phoneMsg) bool { return m.method == "INVITE" && m.body != "" })
	relayA, relayB := mediaOf(ok.body), mediaOf(inv.body)

	sent := sendRTPWithGaps(p0, relayA, 100, 10, 0x11111111) // 1..99 sent but 9: 90 in, 9 lost
	if got := p1.recvRTP(0x11111111, 2*time.Second); got == 0 {
		t.Fatal("the callee got none of the caller's RTP")
	}
	back := sendRTPWithGaps(p1, relayB, 20, 1000, 0x22222222)

	base := "https://" + a.AdminAddr()
	c := authClient(a, "127.0.0.1")
	var view struct {
		Calls []struct {
			ID   string
			Legs []legMediaView
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := do(t, c, base, call{method: "GET", path: "/api/v1/media/calls"})
		want(t, "media calls", r, 200)
		r.json(t, &view)
		if len(view.Calls) == 1 && view.Calls[0].Legs[0].PacketsIn == uint64(sent) && view.Calls[0].Legs[1].PacketsIn == uint64(back) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("media of the call: %s", r.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mc := view.Calls[0]
	if mc.ID != "gateway:"+id {
		t.Errorf("media call id %q, the gateway source's events name it %q", mc.ID, id)
	}
	la, lb := mc.Legs[0], mc.Legs[1]
	t.Logf("leg a: %+v", la)
	t.Logf("leg b: %+v", lb)
	if la.Leg != "a" || la.Party.User != "u1000" || lb.Party.User != "u1001" || la.SIPCallID != pc.cid {
		t.Errorf("legs: %+v / %+v", la, lb)
	}
	if la.Expected != 99 || la.Lost != 9 || la.LossRatio < 0.09 || la.LossRatio > 0.091 {
		t.Errorf("caller's leg: expected %d lost %d ratio %f, want 99, 9", la.Expected, la.Lost, la.LossRatio)
	}
	if la.BytesIn != uint64(sent*172) || la.Codec != "PCMU/8000" || la.PayloadType == nil || *la.PayloadType != 0 {
		t.Errorf("caller's leg: bytes %d codec %q pt %v", la.BytesIn, la.Codec, la.PayloadType)
	}
	if la.Local != relayA.String() || la.Latched != p0.rtp.LocalAddr().String() || la.SendTo != la.Latched {
		t.Errorf("caller's leg addresses: local %s (SDP %s) latched %s send to %s (phone %s)", la.Local, relayA, la.Latched, la.SendTo, p0.rtp.LocalAddr())
	}
	if la.LastAgeMS == nil || la.LastPacket == nil || la.WebRTC != nil {
		t.Errorf("caller's leg: last packet %v age %v webrtc %v", la.LastPacket, la.LastAgeMS, la.WebRTC)
	}
	if lb.PacketsOut != uint64(sent) || lb.BytesOut != uint64(sent*172) || la.PacketsOut != uint64(back) {
		t.Errorf("out: callee's leg %d packets %d bytes, caller's %d; want %d, %d, %d", lb.PacketsOut, lb.BytesOut, la.PacketsOut, sent, sent*172, back)
	}
	if lb.Lost != 0 || lb.Expected != uint64(back) || lb.Latched != p1.rtp.LocalAddr().String() {
		t.Errorf("callee's leg: %+v", lb)
	}

	// Admins only.
	olga := [2]string{"olga", "olga-password"}
	want(t, "create olga", do(t, c, base, call{method: "POST", path: "/api/v1/accounts",
		body: map[string]any{"name": "olga", "role": "operator", "password": olga[1]}}), 201)
	want(t, "as an operator", do(t, clientFrom("127.0.0.1"), base, call{method: "GET", path: "/api/v1/media/calls", basic: olga}), 403)
	want(t, "without credentials", do(t, clientFrom("127.0.0.1"), base, call{method: "GET", path: "/api/v1/media/calls"}), 401)
}
