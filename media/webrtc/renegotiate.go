package webrtc

import (
	"bytes"
	"fmt"
	"strings"

	psdp "github.com/pion/sdp/v3"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-gw/switchboard/media/sdp"
)

// Offers and answers on an established leg (RFC 3264 §8): hold and resume
// from either side, session refreshes. The transport does not change: the
// same ICE credentials, DTLS fingerprint and role, candidates and codec.
// Only the direction does (RFC 3264 §8.4), so the PeerConnection is left
// as it is; the browser gets our established description with the new
// direction and a new o= version, and the RTP side gets the plain SDP of
// the leg's face with the browser's direction. The relay enforces the
// directions. A browser's re-offer with a new ICE ufrag/pwd and the same
// fingerprint is an ICE restart (RFC 8445 §9, RFC 8839 §4.4.1.1.1): the
// other leg gets the same plain offer, and Reanswer restarts ICE in pion
// (new local credentials, the same candidates) and answers with them; the
// DTLS association and its SRTP keys stay, so the media resumes on the
// pair the browser then nominates (the fast path follows it). A new
// fingerprint (a new DTLS association) is ErrRestart.
//
//	browser offers:  Reoffer   (WebRTC offer -> plain offer)
//	                 Reanswer  (plain answer -> WebRTC answer)
//	browser offered: OfferAgain  (plain offer -> WebRTC offer)
//	                 AcceptAgain (WebRTC answer -> plain answer)

// renegotiation is a leg's state for subsequent offers; guarded by Leg.mu.
type renegotiation struct {
	first      []byte         // the description the browser got from us first (Answer, Offer)
	sent       []byte         // the last description the browser got from us, after the first
	plainVer   uint64         // o= version of the plain face's SDP
	pendingDir bool           // a browser's offer is waiting for Reanswer
	restart    []byte         // that offer, when it restarts ICE
	offered    psdp.Direction // OfferAgain's direction, 0 before one
	dir        psdp.Direction // the browser's direction as it stands
	pending    psdp.Direction // the browser's offered direction until Reanswer
}

// Reoffer takes a browser's subsequent offer on the established leg and
// returns the plain offer for the other leg: the codec in use at
// LocalAddr, with the browser's direction.
func (l *Leg) Reoffer(offer []byte) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, restart, err := l.checkAgain(offer, true)
	if err != nil {
		return nil, err
	}
	if pick(b.codecs, l.browserUse) == nil {
		return nil, ErrNoCommonCodec // RFC 3264 §8.3.2: the codec in use was dropped
	}
	l.re.pendingDir, l.re.pending = true, b.direction
	l.re.restart = nil
	if restart {
		l.re.restart = append([]byte(nil), offer...)
	}
	return l.plainAgain(b.direction), nil
}

// Reanswer takes the other leg's answer to Reoffer's plain offer and
// returns the WebRTC answer for the browser: the established description
// with the answer's direction (RFC 3264 §6.1: recvonly to a sendonly hold).
func (l *Leg) Reanswer(plainAnswer []byte) ([]byte, error) {
	st, err := plainStream(plainAnswer)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.re.pendingDir {
		return nil, errState
	}
	l.re.pendingDir = false
	if l.re.restart != nil {
		offer := l.re.restart
		l.re.restart = nil
		if err := l.restartICE(offer); err != nil {
			return nil, err
		}
	}
	out, err := l.describe(st.Direction)
	if err == nil {
		l.re.dir = within(l.re.pending, st.Direction)
	}
	return out, err
}

// Face is the SDP of the leg's RTP face as the session stands: the codec
// in use at LocalAddr with the browser's direction. The B2BUA offers it
// for the browser when a new offer must start from the browser's SDP (a
// re-INVITE without SDP from the other leg, a transfer of the other leg).
func (l *Leg) Face() ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.established(); err != nil {
		return nil, err
	}
	dir := l.re.dir
	if dir == 0 {
		dir = psdp.DirectionSendRecv
	}
	return l.plainAgain(dir), nil
}

// OfferAgain returns the WebRTC offer for the browser from a subsequent
// plain offer of the other leg (its hold, a session refresh): the
// established description with the offer's direction, a=setup with the
// established role (RFC 8842 §5.5).
func (l *Leg) OfferAgain(plainOffer []byte) ([]byte, error) {
	dir, err := direction(plainOffer)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.established(); err != nil {
		return nil, err
	}
	out, err := l.describe(dir)
	if err == nil {
		l.re.offered = dir
	}
	return out, err
}

// AcceptAgain takes the browser's answer to OfferAgain and returns the
// plain answer for the other leg, with the browser's direction.
func (l *Leg) AcceptAgain(answer []byte) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, _, err := l.checkAgain(answer, false)
	if err != nil {
		return nil, err
	}
	if pick(b.codecs, l.browserUse) == nil {
		return nil, ErrNoCommonCodec
	}
	dir := b.direction
	if l.re.offered != 0 {
		dir = within(dir, l.re.offered)
	}
	l.re.dir = dir
	return l.plainAgain(dir), nil
}

// within is direction ans as far as the other end's direction off allows
// it: sending when off receives, receiving when off sends (RFC 3264 §6.1:
// a sendonly offer is answered recvonly or inactive). Some answerers
// (pion's) say sendrecv to a sendonly offer; the relay must not take that
// as the browser sending.
func within(ans, off psdp.Direction) psdp.Direction {
	sends := (ans == psdp.DirectionSendRecv || ans == psdp.DirectionSendOnly) &&
		(off == psdp.DirectionSendRecv || off == psdp.DirectionRecvOnly)
	recvs := (ans == psdp.DirectionSendRecv || ans == psdp.DirectionRecvOnly) &&
		(off == psdp.DirectionSendRecv || off == psdp.DirectionSendOnly)
	switch {
	case sends && recvs:
		return psdp.DirectionSendRecv
	case sends:
		return psdp.DirectionSendOnly
	case recvs:
		return psdp.DirectionRecvOnly
	}
	return psdp.DirectionInactive
}

// established returns the browser's description the leg runs on. Called
// with l.mu held.
func (l *Leg) established() (browserSDP, error) {
	if l.closing {
		return browserSDP{}, ErrClosed
	}
	if l.pc == nil || l.result == nil || l.browserUse == nil {
		return browserSDP{}, errState
	}
	rd := l.pc.CurrentRemoteDescription()
	if rd == nil {
		return browserSDP{}, errState
	}
	return parseBrowser([]byte(rd.SDP))
}

// checkAgain parses a browser's subsequent SDP and checks it keeps the
// DTLS association; restart reports new ICE credentials, allowed in an
// offer (mayRestart). Called with l.mu held.
func (l *Leg) checkAgain(body []byte, mayRestart bool) (b browserSDP, restart bool, err error) {
	cur, err := l.established()
	if err != nil {
		return browserSDP{}, false, err
	}
	b, err = parseBrowser(body)
	if err != nil {
		return b, false, err
	}
	if b.fp != cur.fp || (b.ice != cur.ice && !mayRestart) {
		return b, false, ErrRestart
	}
	return b, b.ice != cur.ice, nil
}

// restartICE applies a browser's ICE-restarting offer to the
// PeerConnection (pion restarts its ICE agent with new local credentials)
// and makes pion's answer the leg's established description, with the
// o= line of the first one (RFC 3264 §8: the same session id; describe
// sets the version). Called with l.mu held.
func (l *Leg) restartICE(offer []byte) error {
	if err := l.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
		return fmt.Errorf("%w: webrtc: ICE restart: %v", sdp.ErrMalformed, err)
	}
	ans, err := l.pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("%w: webrtc: ICE restart answer: %v", sdp.ErrMalformed, err)
	}
	local, err := l.setLocal(ans)
	if err != nil {
		return err
	}
	old, nu := &psdp.SessionDescription{}, &psdp.SessionDescription{}
	if err := old.Unmarshal(l.re.first); err != nil {
		return fmt.Errorf("%w: webrtc: our description: %v", sdp.ErrMalformed, err)
	}
	if err := nu.Unmarshal([]byte(local)); err != nil {
		return fmt.Errorf("%w: webrtc: our description: %v", sdp.ErrMalformed, err)
	}
	nu.Origin = old.Origin
	first, err := nu.Marshal()
	if err != nil {
		return fmt.Errorf("%w: webrtc: our description: %v", sdp.ErrMalformed, err)
	}
	if l.re.sent == nil {
		l.re.sent = l.re.first // what the browser has: describe counts the version on
	}
	l.re.first = first
	return nil
}

// plainAgain is the plain face's SDP with dir and a new o= version.
// Called with l.mu held.
func (l *Leg) plainAgain(dir psdp.Direction) []byte {
	if l.re.plainVer < 2 {
		l.re.plainVer = 2
	} else {
		l.re.plainVer++
	}
	return plainSDP(l.plainUse, l.LocalAddr(), dir, l.re.plainVer)
}

// describe is our established description with direction dir and a=setup
// our established role, with the o= version of the last one the browser
// got, one more if it changed (RFC 3264 §8). Called with l.mu held.
func (l *Leg) describe(dir psdp.Direction) ([]byte, error) {
	cur, err := l.established()
	if err != nil {
		return nil, err
	}
	base := l.re.first
	if base == nil {
		return nil, errState
	}
	last := l.re.sent
	if last == nil {
		last = base
	}
	sd := &psdp.SessionDescription{}
	if err := sd.Unmarshal(last); err != nil {
		return nil, fmt.Errorf("%w: webrtc: our description: %v", sdp.ErrMalformed, err)
	}
	ver := sd.Origin.SessionVersion
	prev, err := sd.Marshal() // last as withDirection writes it
	if err != nil {
		return nil, fmt.Errorf("%w: webrtc: our description: %v", sdp.ErrMalformed, err)
	}
	role := establishedRole(string(base), cur.setup)
	out, err := withDirection(base, dir, role, ver)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(out, prev) {
		if out, err = withDirection(base, dir, role, ver+1); err != nil {
			return nil, err
		}
	}
	l.re.sent = out
	return out, nil
}

// establishedRole is our DTLS role as a=setup value (RFC 8842 §5.5): what
// our description said, or, when we offered actpass, the opposite of the
// browser's answer.
func establishedRole(local, remoteSetup string) string {
	ours := ""
	for _, line := range strings.Split(local, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "a=setup:"); ok {
			ours = v
			break
		}
	}
	if ours != "actpass" && ours != "" {
		return ours
	}
	if remoteSetup == "passive" {
		return "active"
	}
	return "passive"
}

// withDirection rewrites description body: every audio m= line's
// direction attribute becomes dir (RFC 3264 §5.1), a=setup becomes setup,
// the o= version ver.
func withDirection(body []byte, dir psdp.Direction, setup string, ver uint64) ([]byte, error) {
	sd := &psdp.SessionDescription{}
	if err := sd.Unmarshal(body); err != nil {
		return nil, fmt.Errorf("%w: webrtc: our description: %v", sdp.ErrMalformed, err)
	}
	sd.Origin.SessionVersion = ver
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" {
			continue
		}
		attrs := md.Attributes[:0:0]
		put := false
		for _, a := range md.Attributes {
			switch a.Key {
			case "sendrecv", "sendonly", "recvonly", "inactive":
				if put || a.Value != "" {
					continue
				}
				a, put = psdp.Attribute{Key: dir.String()}, true // in place
			case "setup":
				a.Value = setup
			}
			attrs = append(attrs, a)
		}
		if !put {
			attrs = append(attrs, psdp.Attribute{Key: dir.String()})
		}
		md.Attributes = attrs
	}
	out, err := sd.Marshal()
	if err == nil { // pion reads some input it cannot write back
		err = (&psdp.SessionDescription{}).Unmarshal(out)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: webrtc: %v", sdp.ErrMalformed, err)
	}
	return out, nil
}

// direction reads the audio stream's direction of an SDP, plain or WebRTC.
func direction(body []byte) (psdp.Direction, error) {
	sd, err := sdp.Parse(body)
	if err != nil {
		return 0, err
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" {
			continue
		}
		for _, a := range md.Attributes {
			if d, err := psdp.NewDirection(a.Key); err == nil && a.Value == "" {
				return d, nil
			}
		}
		for _, a := range sd.Attributes {
			if d, err := psdp.NewDirection(a.Key); err == nil && a.Value == "" {
				return d, nil
			}
		}
		return psdp.DirectionSendRecv, nil
	}
	return 0, sdp.ErrNoAudio
}
