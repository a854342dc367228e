package b2bua

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/gateway/store"
	"github.com/switchboard-gw/switchboard/media/relay"
	"github.com/switchboard-gw/switchboard/media/webrtc"
)

// A transfer target's or click-to-dial user's fork runs on a call of its
// own with no relay session (refer.go placeTransfer). A browser contact
// among the devices it rings used to take the missing session's side
// (nil pointer): a panic in the click-to-dial goroutine ended the
// process. The browser's branch is now refused (ErrNotSupported: the
// other devices still ring, sendContacts logs it).
func TestBrowserTargetWithoutSession(t *testing.T) {
	e, err := webrtc.New(webrtc.Config{ListenIP: netip.MustParseAddr("127.0.0.1"), Port: webrtc.PortAny})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	self := sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: 5060}
	b := newTestB2BUA(Options{WebRTC: e, Contact: func(string) sip.Uri { return self }})
	offer := []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n")
	tc := &call{gw: b, from: caller{number: "0301234567"}, num: "u1001", mf: 70, bodyB: offer,
		ackc: make(chan struct{}), done: make(chan struct{})} // as placeTransfer makes it
	browser := store.Binding{ContactURI: "<sip:abc@df7jal23ls0d.invalid;transport=ws>", Transport: "WSS", Source: "127.0.0.1:40001"}
	if _, err := tc.contactBranch("u1001", browser); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("browser branch of a fork without relay session: %v, want ErrNotSupported", err)
	}
	phone := store.Binding{ContactURI: "<sip:u1001@127.0.0.1:40002>", Transport: "UDP", Source: "127.0.0.1:40002"}
	if _, err := tc.contactBranch("u1001", phone); err != nil {
		t.Fatalf("a phone's branch of the same fork: %v", err)
	}
}

// With the relay side of the call it joins (placeJoining: click-to-dial's
// A side, a blind transfer's transferor side), the browser's branch of
// the same fork gets a WebRTC offer of its own (ICE, DTLS fingerprint),
// and its leg is kept under the branch's Call-ID for the answer
// (browserWon). The e2e tests (lab/e2e/webrtc_target_test.go) check the
// audio through the joined side.
func TestBrowserTargetJoinsSide(t *testing.T) {
	e, err := webrtc.New(webrtc.Config{ListenIP: netip.MustParseAddr("127.0.0.1"), Port: webrtc.PortAny})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	rl, err := relay.New(relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rl.Close() })
	s, err := rl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	self := sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: 5060}
	b := newTestB2BUA(Options{WebRTC: e, Contact: func(string) sip.Uri { return self }})
	offer := []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n")
	tc := &call{gw: b, from: caller{number: "0301234567"}, num: "u1001", mf: 70, bodyB: offer,
		ackc: make(chan struct{}), done: make(chan struct{})}
	tc.rtc.join = s.A()
	defer tc.closeBrowsers()
	browser := store.Binding{ContactURI: "<sip:abc@df7jal23ls0d.invalid;transport=ws>", Transport: "WSS", Source: "127.0.0.1:40001"}
	br, err := tc.contactBranch("u1001", browser)
	if err != nil {
		t.Fatalf("browser branch of a fork joining a call: %v", err)
	}
	body := br.inv.Body()
	if !webrtc.IsWebRTC(body) || !bytes.Contains(body, []byte("a=fingerprint:")) || !bytes.Contains(body, []byte("a=ice-ufrag:")) {
		t.Fatalf("the browser's INVITE carries no WebRTC offer:\n%s", body)
	}
	tc.rtc.mu.Lock()
	l := tc.rtc.branches[br.inv.CallID().Value()]
	tc.rtc.mu.Unlock()
	if l == nil {
		t.Fatal("no WebRTC leg kept under the branch's Call-ID")
	}
}
