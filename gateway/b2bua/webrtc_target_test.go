package b2bua

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/gateway/store"
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
