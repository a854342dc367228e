package b2bua

import "github.com/emiago/sipgo/sip"

// Ringback with forking (issue 11, RFC 3960 §3). A transfer target, a
// click-to-dial number or a caller's callee that is a local user rings on
// each of its devices (fork.go). The waiting party hears the early media
// of one branch; when that branch fails while another still rings,
// nothing plays any more, and a UAC plays local ringback whenever a 180
// came and no early media is being received (RFC 3960 §3): the gateway,
// the UAC here, plays its ringback again. The fork tracks which branch's
// early media is heard (fork.early) and which branches rang
// (branch.rang); it calls its earlyLost hook when the early branch ends
// without an answer.

// earlyLost takes the end of the branch whose early media the party
// heard: the tone comes back when ringing (another branch still rings
// after a 180), and a later 180 starts it.
func (r *ringback) earlyLost(ringing bool) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.early = false
	if ringing {
		r.play("ringback resumed")
	}
}

// heardRinging notes a branch's provisional: a 180 without SDP says it
// rings without early media (RFC 3960 §3).
func (br *branch) heardRinging(res *sip.Response) {
	if res.StatusCode == 180 && len(res.Body()) == 0 {
		br.rang = true
	}
}

// lostEarly is called when br reached a final status: when it was the
// branch whose early media the caller heard, and it failed, no early
// media is heard any more, and the earlyLost hook (if any) learns
// whether another branch still rings.
func (f *fork) lostEarly(br *branch, code int) {
	if f.earlyLost == nil || br != f.early || code < 300 {
		return
	}
	f.early = nil
	ringing := false
	for _, o := range f.branches {
		if o.final == 0 && o.rang {
			ringing = true
		}
	}
	f.c.gw.log.Debug("the early media's branch failed", "branch", br.label, "status", code, "others_ringing", ringing)
	f.earlyLost(ringing)
}

// earlyLostHook is the earlyLost hook for a call's fork answering tx: the
// ringback of a click-to-dial call (dialTx, dial.go); for a caller's own
// INVITE, the caller's tone (earlyHeard), if it heard early media.
func (c *call) earlyLostHook(tx sip.ServerTransaction) func(bool) {
	if dt, ok := tx.(*dialTx); ok {
		if dt.rb != nil {
			return dt.rb.earlyLost
		}
		return nil
	}
	return func(ringing bool) { c.tone.earlyLost(ringing) }
}

// earlyHeard is told that the caller of c now hears a branch's early
// media (its 18x with SDP was relayed to it). A phone that got early
// media plays no ringback of its own any more (RFC 3960 §3: it takes
// what comes on the stream as the call's progress); when that branch
// fails while another still rings, nothing would come, so the gateway
// plays its ringback into the caller's relay side (earlyLost), in a
// G.711 format of the answer the caller got. Until then, and while any
// branch's early media is heard, the tone is paused. A click-to-dial
// call (dialTx) has its own ringback. Called from the ring loop only.
func (c *call) earlyHeard(tx sip.ServerTransaction) {
	if _, ok := tx.(*dialTx); ok {
		return
	}
	if c.tone == nil && c.media != nil {
		c.tone = c.ringbackTo(c.media.A(), func() []byte { return c.earlyA }, c.a.callID)
	}
	c.tone.pause()
}
