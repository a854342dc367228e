package b2bua

import (
	"fmt"
	"net/netip"

	"github.com/emiago/sipgo/sip"
	psdp "github.com/pion/sdp/v3"

	"github.com/switchboard-gw/switchboard/media/relay"
	"github.com/switchboard-gw/switchboard/media/sdp"
)

// leg is one side of a call: its dialog (dialog.go), the relay side its
// far end sends media to and gets media from, and our o= line on it
// (RFC 3264 §8: one origin per dialog). Every SDP the gateway takes from
// a far end or gives one goes through a leg's pipeline below:
//
//   - acceptOffer and acceptAnswer check what the far end sent (RFC 3264
//     §5, §6);
//   - heard points the leg's relay side at it (with the signalling source,
//     for phones behind NAT: remoteOf);
//   - sdpFor is the SDP the far end gets: the relay's address on its side,
//     our origin on its dialog;
//   - lastFrom, lastSent and keep are the session as it stands on the leg,
//     what re-INVITEs, refreshes and transfers start from (indialog.go).
//
// A leg of a call's setup may have no dialog yet (the B side while
// branches ring); a leg that takes another's place (a transfer target,
// an INVITE with Replaces) gets that leg's relay side and an origin of its
// own.
type leg struct {
	c    *call
	d    *dialog
	isA  bool
	peer *dialog // the other leg's dialog, when the call has both

	side   *relay.Side
	origin *sdp.Origin
}

// legsLocked returns the leg on side isA and the other one, as the call
// stands: with gw.mu held (transfers change the dialogs and origins).
func (c *call) legsLocked(isA bool) (x, y *leg) {
	a := &leg{c: c, d: c.a, isA: true, peer: c.b, origin: c.originA}
	b := &leg{c: c, d: c.b, isA: false, peer: c.a, origin: c.originB}
	if c.media != nil {
		a.side, b.side = c.media.A(), c.media.B()
	}
	if isA {
		return a, b
	}
	return b, a
}

// legs is legsLocked taking gw.mu.
func (c *call) legs(isA bool) (x, y *leg) {
	c.gw.mu.Lock()
	defer c.gw.mu.Unlock()
	return c.legsLocked(isA)
}

// taking is a leg that takes x's place with dialog d (a transfer target,
// an INVITE with Replaces, a pickup): x's relay side, the origin org.
func (x *leg) taking(d *dialog, org *sdp.Origin) *leg {
	return &leg{c: x.c, d: d, isA: x.isA, peer: x.peer, side: x.side, origin: org}
}

// on is l for another dialog on the same side (an early dialog of the
// callee while the call rings).
func (l *leg) on(d *dialog) *leg {
	n := *l
	n.d = d
	return &n
}

// mediaAddr is the address and port the leg's far end sends media to:
// the relay's side for it.
func (l *leg) mediaAddr() netip.AddrPort { return l.c.mediaAddr(l.side) }

// acceptOffer checks an offer from l's far end (RFC 3264 §5): SDP with an
// audio stream, and a codec of ours (Options.Codecs) in it; the formats
// we do not take are dropped. It does not touch the relay (heard does).
func (l *leg) acceptOffer(body []byte) (*psdp.SessionDescription, sdp.Stream, error) {
	sd, err := sdp.Parse(body)
	if err != nil {
		return nil, sdp.Stream{}, err
	}
	st, err := sdp.AudioStream(sd)
	if err != nil {
		return nil, sdp.Stream{}, err
	}
	if _, err := sdp.Intersect(sd, l.c.gw.o.Codecs); err != nil {
		return nil, sdp.Stream{}, err
	}
	return sd, st, nil
}

// acceptAnswer checks an answer from l's far end against the offer it was
// sent (RFC 3264 §6). Formats the offer did not list (telephone-event, CN
// that phones and PBXs add) are dropped from it and logged (Postel: RFC
// 3264 §6.1 lets the answer list only offered formats); it fails only when
// no offered codec remains.
func (l *leg) acceptAnswer(offer *psdp.SessionDescription, body []byte) (*psdp.SessionDescription, sdp.Stream, error) {
	sd, err := sdp.Parse(body)
	if err != nil {
		return nil, sdp.Stream{}, err
	}
	dropped, err := sdp.TrimAnswer(offer, sd)
	if err != nil {
		return nil, sdp.Stream{}, err
	}
	if len(dropped) > 0 {
		l.c.gw.log.Info("answer lists formats not offered: dropped", "call_id", l.callID(), "formats", sdp.FormatList(dropped))
	}
	st, err := sdp.CheckAnswer(offer, sd)
	if err != nil {
		return nil, sdp.Stream{}, err
	}
	return sd, st, nil
}

// heard points l's relay side at the stream st its far end sent in
// message m (remoteOf: the SDP's address, and m's source for latching).
func (l *leg) heard(st sdp.Stream, m sip.Message) { l.side.SetRemote(remoteOf(st, m)) }

// sdpFor is sd as l's far end gets it: the relay's address on l's side
// and our o= line on l's dialog (sdp.Rewrite, RFC 3264 §8), marshalled.
// sd is rewritten in place.
func (l *leg) sdpFor(sd *psdp.SessionDescription) ([]byte, error) {
	if err := sdp.Rewrite(sd, l.mediaAddr(), l.origin); err != nil {
		return nil, err
	}
	out, err := sd.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", sdp.ErrMalformed, err)
	}
	return out, nil
}

// lastFrom is the last SDP l's far end sent, as it sent it; lastSent the
// last we sent it (nil before the call is up).
func (l *leg) lastFrom() []byte {
	e := &l.c.est
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.from[l.d]
}

func (l *leg) lastSent() []byte {
	e := &l.c.est
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sent[l.d]
}

// keep records an offer/answer completed on l: what its far end sent and
// what we sent it.
func (l *leg) keep(from, sent []byte) {
	e := &l.c.est
	e.mu.Lock()
	defer e.mu.Unlock()
	e.init()
	e.from[l.d], e.sent[l.d] = from, sent
}

// callID names the leg in logs: its dialog's Call-ID, else the caller's.
func (l *leg) callID() string {
	if l.d != nil {
		return l.d.callID
	}
	if l.c.a != nil {
		return l.c.a.callID
	}
	return ""
}
