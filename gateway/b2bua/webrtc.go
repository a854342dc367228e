package b2bua

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/media/relay"
	"github.com/switchboard-gw/switchboard/media/webrtc"
)

// WebRTC legs (media/webrtc). A browser's SDP never reaches the SDP
// pipeline: its leg turns it into a plain RTP offer or answer at the leg's
// own socket, which the pipeline treats as any phone's, and turns what the
// pipeline sends the browser back into WebRTC:
//
//	browser calls:  offer  --AcceptOffer--> plain offer  -> relay A -> B
//	                answer <--Answer------- plain answer <- relay A <- B
//	browser called: offer  <--Offer-------- plain offer  <- relay B <- A
//	                answer --Accept-------> plain answer -> relay B -> A
//
// A browser is detected by its SDP (webrtc.IsWebRTC) when it calls, by its
// contact's transport (WS, WSS: RFC 7118) when it is called. The legs end
// with the call (closeBrowsers); a browser that vanishes (RFC 7675 consent
// expired) ends the call (browserGone).

// errBrowserGone ends a call whose browser stopped answering ICE consent
// checks; it is a media timeout for the CDR and the BYE's Reason.
var errBrowserGone = fmt.Errorf("%w: browser gone (ICE consent expired, RFC 7675)", ErrMediaTimeout)

// rtcState is a call's WebRTC legs.
type rtcState struct {
	mu  sync.Mutex
	a   *webrtc.Leg // the caller, a browser
	aID string      // the caller's Call-ID
	// aCalled: a is a browser we called (click-to-dial's user, a transfer
	// target in the A leg's place): its answer is in, no Answer to make.
	aCalled  bool
	branches map[string]*webrtc.Leg // browsers called, by their branch's Call-ID
	// join is the relay side of the call that a fork without relay session
	// of its own (placeJoining) joins: its browser branches bridge to it.
	join *relay.Side
	gone chan struct{} // browserGone's channel, made once
	// endA and endB are the browsers on the call's legs when
	// closeBrowsers ran (nil: none), for the record's round trips.
	endA, endB *webrtc.Leg
}

// browserOffer makes a browser caller's offer plain RTP (call.offer hook).
// Other bodies pass unchanged.
func (c *call) browserOffer(body []byte, from sip.Message) ([]byte, error) {
	e := c.gw.o.WebRTC
	if e == nil || !webrtc.IsWebRTC(body) {
		return body, nil
	}
	leg, plain, err := e.AcceptOffer(body)
	if err != nil {
		return nil, err
	}
	c.rtc.mu.Lock()
	old := c.rtc.a
	c.rtc.a = leg
	if from != nil && from.CallID() != nil {
		c.rtc.aID = from.CallID().Value()
	}
	c.rtc.mu.Unlock()
	if old != nil {
		go old.Close()
	}
	return plain, nil
}

// browserAnswer makes the answer for a browser caller WebRTC (call.answer
// hook): out is the plain answer pointing at the relay's A side.
func (c *call) browserAnswer(out []byte) ([]byte, error) {
	c.rtc.mu.Lock()
	leg := c.rtc.a
	called := c.rtc.aCalled
	c.rtc.mu.Unlock()
	if leg == nil || called || len(out) == 0 {
		return out, nil
	}
	ans, err := leg.Answer(out, bridgeAddr(c.media.A()))
	if err == nil {
		leg.Attach(c.media.A()) // no loopback hop between the leg and the relay
	}
	return ans, err
}

// browserCallee makes a called browser's answer plain RTP (call.answer
// hook); res is the response that carried it.
func (c *call) browserCallee(body []byte, res sip.Message) ([]byte, error) {
	if len(body) == 0 || res == nil || !webrtc.IsWebRTC(body) {
		return body, nil
	}
	id := res.CallID()
	if id == nil {
		return body, nil
	}
	c.rtc.mu.Lock()
	leg := c.rtc.branches[id.Value()]
	c.rtc.mu.Unlock()
	if leg == nil {
		return body, nil
	}
	plain, err := leg.Accept(body)
	if err == nil {
		leg.Attach(c.media.B()) // no loopback hop between the leg and the relay
	}
	return plain, err
}

// offerBrowser gives a branch towards a browser (a contact registered over
// WS or WSS) a WebRTC offer of its own instead of the plain one
// (contactBranch hook).
func (c *call) offerBrowser(req *sip.Request, transport string) error {
	e := c.gw.o.WebRTC
	if e == nil || !isWebSocket(transport) || len(c.bodyB) == 0 {
		return nil
	}
	var side *relay.Side
	if c.media != nil {
		side = c.media.B()
	} else {
		// A transfer target's or a click-to-dial user's fork (refer.go
		// placeJoining) runs on a call of its own with no relay session:
		// its browser bridges to the side of the call it joins. Without
		// one the branch is not sent (the user's other devices still
		// ring), instead of a leg without a bridge.
		c.rtc.mu.Lock()
		side = c.rtc.join
		c.rtc.mu.Unlock()
		if side == nil {
			return fmt.Errorf("%w: a browser as transfer or click-to-dial target without the call it joins", ErrNotSupported)
		}
	}
	leg, offer, err := e.Offer(c.bodyB, bridgeAddr(side))
	if err != nil {
		return err
	}
	req.SetBody(offer)
	c.rtc.mu.Lock()
	if c.rtc.branches == nil {
		c.rtc.branches = map[string]*webrtc.Leg{}
	}
	c.rtc.branches[req.CallID().Value()] = leg
	c.rtc.mu.Unlock()
	return nil
}

// browserEarly makes the WebRTC SDP of a provisional response on a
// browser's branch of a joining fork (placeJoining) plain RTP, for the
// early media of the call it joins (Accept returns the same answer again
// for the 2xx).
func (c *call) browserEarly(br *branch, res *sip.Response) error {
	if len(res.Body()) == 0 || !webrtc.IsWebRTC(res.Body()) {
		return nil
	}
	c.rtc.mu.Lock()
	l := c.rtc.branches[br.inv.CallID().Value()]
	c.rtc.mu.Unlock()
	if l == nil {
		return nil
	}
	plain, err := l.Accept(res.Body())
	if err != nil {
		return err
	}
	res.SetBody(plain)
	return nil
}

// browserWon takes the WebRTC leg of the branch br that answered a
// joining fork (placeJoining) out of the fork's call and makes its 2xx's
// SDP plain RTP (res's body, as browserCallee does for a call's own fork);
// the legs of the other branches close. It is attached to the relay side
// once the joined call takes it (adoptBrowser): until then the side keeps
// its far end, should the transfer fail. Nil: br was no browser.
func (c *call) browserWon(br *branch, res *sip.Response) (*webrtc.Leg, error) {
	c.rtc.mu.Lock()
	id := br.inv.CallID().Value()
	l := c.rtc.branches[id]
	delete(c.rtc.branches, id)
	c.rtc.mu.Unlock()
	c.closeBrowsers() // the branches that lost
	if l == nil {
		return nil, nil
	}
	plain, err := l.Accept(res.Body())
	if err != nil {
		go l.Close()
		return nil, err
	}
	res.SetBody(plain)
	return l, nil
}

// adoptBrowser records bl, the browser a joining fork reached, as the
// far end of dialog callID on side isA of c, where browserOf, browserGone
// and closeBrowsers find it, and attaches it to side, that leg's relay
// side. An A-side browser it replaces (a transferor) closes. bl nil:
// nothing to record.
func (c *call) adoptBrowser(bl *webrtc.Leg, callID string, isA bool, side *relay.Side) {
	if bl == nil {
		return
	}
	bl.Attach(side) // no loopback hop between the leg and the relay
	c.rtc.mu.Lock()
	var old *webrtc.Leg
	if isA {
		old = c.rtc.a
		c.rtc.a, c.rtc.aID, c.rtc.aCalled = bl, callID, true
	} else {
		if c.rtc.branches == nil {
			c.rtc.branches = map[string]*webrtc.Leg{}
		}
		c.rtc.branches[callID] = bl
	}
	c.rtc.mu.Unlock()
	if old != nil {
		go old.Close()
	}
}

// browserOf is the WebRTC leg of l's far end, nil when it is no browser
// (or a leg that took a browser's place: a transfer target).
func (c *call) browserOf(l *leg) *webrtc.Leg {
	if l == nil || l.d == nil {
		return nil
	}
	return c.browserOn(l.d, l.isA)
}

// browserOn is browserOf for dialog d on side isA.
func (c *call) browserOn(d *dialog, isA bool) *webrtc.Leg {
	c.rtc.mu.Lock()
	defer c.rtc.mu.Unlock()
	if isA {
		if c.rtc.a != nil && d.callID == c.rtc.aID {
			return c.rtc.a
		}
		return nil
	}
	return c.rtc.branches[d.callID]
}

// sessionFrom is the last SDP l's far end sent, as the pipeline takes it
// (the start of a new offer from l's session: offerInAnswer, transfers):
// a browser's is the plain SDP of its leg's RTP face.
func (c *call) sessionFrom(l *leg) []byte {
	if bl := c.browserOf(l); bl != nil {
		if f, err := bl.Face(); err == nil {
			return f
		}
	}
	return l.lastFrom()
}

// browserRefresh is the body of a session refresh re-INVITE on d (RFC
// 4028 §7.4, timer.go): the session as it stands, as WebRTC SDP for a
// browser's leg (RFC 3264 §8: the same o= version when nothing changed).
// A leg that cannot describe itself keeps body.
func (c *call) browserRefresh(d *dialog, body []byte) []byte {
	c.gw.mu.Lock()
	isA := d == c.a
	c.gw.mu.Unlock()
	bl := c.browserOn(d, isA)
	if bl == nil || len(body) == 0 {
		return body
	}
	out, err := bl.OfferAgain(body)
	if err != nil {
		c.gw.log.Info("session refresh towards a browser: no WebRTC offer", "call_id", d.callID, "error", err)
		return body
	}
	return out
}

func isWebSocket(transport string) bool {
	return strings.EqualFold(transport, "ws") || strings.EqualFold(transport, "wss")
}

// browserGone is closed when a browser leg of the answered call ends: the
// caller's, or the called browser that answered (c.b). Nil (never ready)
// when neither leg is a browser.
func (c *call) browserGone() <-chan struct{} {
	c.rtc.mu.Lock()
	defer c.rtc.mu.Unlock()
	if c.rtc.gone != nil {
		return c.rtc.gone
	}
	c.releaseLosersLocked()
	var legs []*webrtc.Leg
	if c.rtc.a != nil {
		legs = append(legs, c.rtc.a)
	}
	if c.b != nil && c.rtc.branches[c.b.callID] != nil {
		legs = append(legs, c.rtc.branches[c.b.callID])
	}
	if len(legs) == 0 {
		return nil
	}
	gone := make(chan struct{})
	c.rtc.gone = gone
	go func() {
		var b <-chan struct{}
		if len(legs) > 1 {
			b = legs[1].Done()
		}
		select {
		case <-legs[0].Done():
		case <-b:
		case <-c.done:
			return
		}
		// The browser's media is gone for good: release its legs and the
		// relay's ports now, not after the BYE towards the vanished
		// browser times out (32 s); end (legs.go) sends the BYEs.
		for _, l := range legs {
			_ = l.Close()
		}
		_ = c.media.Close()
		close(gone)
	}()
	return gone
}

// browsersLocked is the browser on the call's A and B legs (nil: a
// plain leg), under c.rtc.mu.
func (c *call) browsersLocked() (a, b *webrtc.Leg) {
	if c.a != nil && c.rtc.a != nil && c.a.callID == c.rtc.aID {
		a = c.rtc.a
	}
	if c.b != nil {
		b = c.rtc.branches[c.b.callID]
	}
	return a, b
}

// browserRTTs is the last round trip measured from the reports of the
// browser on the call's A and B legs (RFC 3550 §6.4.1; 0: a plain leg or
// none measured), live or as the legs were when the call ended.
func (c *call) browserRTTs() (a, b time.Duration) {
	c.rtc.mu.Lock()
	la, lb := c.browsersLocked()
	if la == nil && lb == nil {
		la, lb = c.rtc.endA, c.rtc.endB
	}
	c.rtc.mu.Unlock()
	if la != nil {
		a = la.Stats().RTT
	}
	if lb != nil {
		b = lb.Stats().RTT
	}
	return a, b
}

// releaseLosersLocked closes the legs of the browsers called on the
// branches that did not answer (forking: they got a CANCEL, RFC 3261
// §9.1), under c.rtc.mu once the call is answered: their PeerConnections
// and sockets go now, not when the answered call ends.
func (c *call) releaseLosersLocked() {
	for id, l := range c.rtc.branches {
		if c.b != nil && id == c.b.callID {
			continue
		}
		delete(c.rtc.branches, id)
		go l.Close()
	}
}

// releaseBrowser closes the WebRTC leg offered on the branch with
// Call-ID callID, if any: the branch failed (fork.ended).
func (c *call) releaseBrowser(callID string) {
	c.rtc.mu.Lock()
	l := c.rtc.branches[callID]
	delete(c.rtc.branches, callID)
	c.rtc.mu.Unlock()
	if l != nil {
		go l.Close()
	}
}

// closeBrowsers ends every WebRTC leg of the call (deferred in call.run:
// the call has ended, or never got through).
func (c *call) closeBrowsers() {
	c.rtc.mu.Lock()
	legs := make([]*webrtc.Leg, 0, len(c.rtc.branches)+1)
	if c.rtc.a != nil {
		legs = append(legs, c.rtc.a)
	}
	for _, l := range c.rtc.branches {
		legs = append(legs, l)
	}
	c.rtc.endA, c.rtc.endB = c.browsersLocked()
	c.rtc.a, c.rtc.branches = nil, nil
	c.rtc.mu.Unlock()
	var wg sync.WaitGroup
	for _, l := range legs {
		wg.Add(1)
		go func() { defer wg.Done(); _ = l.Close() }()
	}
	wg.Wait()
}

// bridgeAddr is where a WebRTC leg sends to a relay side: its bound
// address, loopback when the relay listens on every address.
func bridgeAddr(s *relay.Side) netip.AddrPort {
	a := s.LocalAddr()
	if a.Addr().IsUnspecified() {
		lo := netip.IPv6Loopback()
		if a.Addr().Is4() {
			lo = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		}
		return netip.AddrPortFrom(lo, a.Port())
	}
	return a
}
