package b2bua

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/switchboard-gw/switchboard/media/relay"
	"github.com/switchboard-gw/switchboard/media/sdp"
	"github.com/switchboard-gw/switchboard/media/webrtc"
)

// Live media statistics of the calls under way (the admin UI's active
// calls): each answered call's two legs as the relay sees them (relay.Live:
// packets and bytes each way, RFC 3550 A.3 loss and A.8 jitter of what the
// far end sent, the latched source), the codec the far end sends, and the
// ICE/DTLS state of a browser's leg (media/webrtc).

// CallMedia is one answered call's media.
type CallMedia struct {
	ID       string // the call's ID (Calls, CallEvent)
	Answered time.Time
	A, B     LegMedia // A towards the caller, B towards the callee
}

// LegMedia is one leg's media: "in" is what its far end sent the relay,
// "out" what the relay sent its far end.
type LegMedia struct {
	Party  CallParty
	CallID string // the leg's SIP Call-ID

	// Codec is the far end's format of the payload type it sends
	// ("PCMU/8000"), from its SDP; before its first packet, the first
	// audio format of its SDP. "" if unknown.
	Codec       string
	PayloadType int // the payload type last received; -1 before one

	// Local is the relay's socket for this leg (what the far end was told
	// in SDP); Remote what the far end's SDP said; Latched where its media
	// comes from (RFC 3550 §8.2 symmetric RTP, media/relay Latching);
	// SendTo where the relay sends it media.
	Local, Remote, Latched, SendTo netip.AddrPort

	PacketsIn, BytesIn, PacketsOut, BytesOut uint64
	// Expected and Lost are RFC 3550 A.3 over what the far end sent; Lost
	// is negative when duplicates arrived. LossRatio is Lost/Expected,
	// 0 when nothing was expected or Lost < 0.
	Expected  uint64
	Lost      int64
	LossRatio float64
	// Jitter is the interarrival jitter of RFC 3550 §6.4.1 (A.8).
	Jitter time.Duration
	// LastPacket is when the far end's last RTP packet arrived (zero: none).
	LastPacket time.Time

	// WebRTC is the browser leg's state; nil for a plain RTP leg.
	WebRTC *WebRTCMedia
}

// WebRTCMedia is the state of a browser's leg (media/webrtc.Leg).
type WebRTCMedia struct {
	// State is "connecting" (ICE and DTLS not completed yet), "connected"
	// (both completed, at Since) or "closed" (Error says why).
	State string
	Since time.Time
	Error string
	// FromBrowser and ToBrowser count the RTP packets passed between the
	// browser and the relay; Dropped what was not passed.
	FromBrowser, ToBrowser, Dropped uint64
	// RTT is the last round-trip time measured from the browser's RTCP
	// reports (RFC 3550 §6.4.1); 0 before one.
	RTT time.Duration
	// FastIn and FastOut count the packets of the browser's SRTP
	// decrypted and encrypted on the fast path (media/webrtc/srtpmux).
	FastIn, FastOut uint64
}

// legSnap is what Media copies of a leg under the locks.
type legSnap struct {
	d     *dialog
	isA   bool
	party CallParty
}

// Media lists the media of the answered calls under way. Calls still
// ringing are left out: their B leg is not chosen yet.
//
// A call is found through its dialogs (b.dialogs, under b.mu): the answer
// lists them (addDialogs) after it set the call's legs, answer time and
// relay session, so what is read here was written before.
func (b *B2BUA) Media() []CallMedia {
	type snap struct {
		c        *call
		sess     *relay.Session
		answered time.Time
		a, z     legSnap
	}
	var snaps []snap
	b.mu.Lock()
	seen := map[*call]bool{}
	for _, l := range b.dialogs {
		c := l.c
		if c == nil || seen[c] || c.ref == "" || b.byRef[c.ref] != c {
			continue
		}
		seen[c] = true
		if c.a == nil || c.b == nil || c.media == nil {
			continue
		}
		if la, lb := b.dialogs[c.a.key()], b.dialogs[c.b.key()]; la == nil || lb == nil || la.c != c || lb.c != c {
			continue // one leg is being replaced (a transfer)
		}
		snaps = append(snaps, snap{c: c, sess: c.media, answered: c.answered,
			a: legSnap{d: c.a, isA: true, party: c.partyOf(c.a, true)},
			z: legSnap{d: c.b, isA: false, party: c.partyOf(c.b, false)}})
	}
	b.mu.Unlock()
	out := make([]CallMedia, 0, len(snaps))
	for _, s := range snaps {
		out = append(out, CallMedia{ID: s.c.ref, Answered: s.answered,
			A: s.c.legMedia(s.a, s.sess.A()), B: s.c.legMedia(s.z, s.sess.B())})
	}
	return out
}

// legMedia fills one leg's media from its relay side s.
func (c *call) legMedia(l legSnap, s *relay.Side) LegMedia {
	lv := s.Live()
	m := LegMedia{Party: l.party, CallID: l.d.callID, PayloadType: -1,
		Local: c.mediaAddr(s), Remote: lv.Remote, Latched: lv.Source, SendTo: lv.SendTo,
		PacketsIn: lv.Packets, BytesIn: lv.Bytes, PacketsOut: lv.SentPackets, BytesOut: lv.SentBytes,
		Expected: lv.Expected, Lost: lv.Lost, Jitter: lv.Jitter, LastPacket: lv.LastPacket}
	if lv.Expected > 0 && lv.Lost > 0 {
		m.LossRatio = float64(lv.Lost) / float64(lv.Expected)
	}
	if lv.HavePayloadType {
		m.PayloadType = int(lv.PayloadType)
	}
	c.est.mu.Lock()
	from := c.est.from[l.d]
	c.est.mu.Unlock()
	m.Codec = codecName(from, m.PayloadType)
	m.WebRTC = c.browserMedia(l)
	return m
}

// codecName is the format of payload type pt (-1: the first audio one) in
// the SDP body, or the RFC 3551 §6 static name when the SDP does not say.
func codecName(body []byte, pt int) string {
	if len(body) > 0 {
		if sd, err := sdp.Parse(body); err == nil {
			if st, err := sdp.AudioStream(sd); err == nil {
				for _, k := range st.Codecs {
					if (pt < 0 && !k.IsEvent()) || (pt >= 0 && int(k.PayloadType) == pt) {
						if k.Name == "" {
							break
						}
						return k.String()
					}
				}
			}
		}
	}
	switch pt {
	case 0:
		return "PCMU/8000"
	case 8:
		return "PCMA/8000"
	case 9:
		return "G722/8000"
	case 18:
		return "G729/8000"
	case -1:
		return ""
	}
	return "PT " + strconv.Itoa(pt)
}

// browserMedia is the WebRTC state of leg l, nil when a plain phone or
// trunk is on it (webrtc.go keeps the browsers' legs).
func (c *call) browserMedia(l legSnap) *WebRTCMedia {
	c.rtc.mu.Lock()
	var w *webrtc.Leg
	if l.isA {
		w = c.rtc.a
	} else if l.d != nil {
		w = c.rtc.branches[l.d.callID]
	}
	c.rtc.mu.Unlock()
	if w == nil {
		return nil
	}
	st := w.Stats()
	m := &WebRTCMedia{State: "connecting", FromBrowser: st.FromBrowser, ToBrowser: st.ToBrowser, Dropped: st.Dropped, RTT: st.RTT,
		FastIn: st.FastIn, FastOut: st.FastOut}
	if at, ok := w.Connected(); ok {
		m.State, m.Since = "connected", at
	}
	select {
	case <-w.Done():
		m.State = "closed"
		if err := w.Err(); err != nil {
			m.Error = err.Error()
		}
	default:
	}
	return m
}
