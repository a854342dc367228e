package webrtc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	psdp "github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-gw/switchboard/media/relay"
	"github.com/switchboard-gw/switchboard/media/sdp"
	"github.com/switchboard-gw/switchboard/media/webrtc/srtpmux"
)

// gatherTimeout bounds ICE gathering; with ICE-lite on a UDP mux it only
// lists the mux's addresses, so it takes microseconds.
const gatherTimeout = 5 * time.Second

// Leg is one browser's media, bridged to plain RTP. A browser that offers:
// Engine.AcceptOffer, then Answer with the other leg's answer. A browser
// that is called: Engine.Offer, then Accept with its answer. Done is closed
// when the browser is gone (consent expired) or the leg closed; Close
// releases its socket, its PeerConnection and its goroutines.
type Leg struct {
	e    *Engine
	conn *net.UDPConn // the RTP face towards the relay
	to   netip.AddrPort
	side atomic.Pointer[relay.Side] // the relay side in this process (Attach), else conn

	mu           sync.Mutex
	pc           *webrtc.PeerConnection
	track        *rtpTrack
	keys         *srtpmux.Keys                  // the DTLS secrets (fast path), nil with SlowPath
	stream       *srtpmux.Stream                // the fast path, made with pc
	toAddr       atomic.Pointer[netip.AddrPort] // to, for the fast path's reader
	offer        []byte                         // the browser's offer (AcceptOffer)
	browserCs    []sdp.Codec                    // what the browser offered or answered
	plainCs      []sdp.Codec                    // what the RTP side offered (Offer)
	result       []byte                         // our answer (Answer) or the plain answer (Accept)
	browserUse   []sdp.Codec                    // the codecs in use, the browser's payload types
	plainUse     []sdp.Codec                    // the codecs in use, the RTP side's payload types
	re           renegotiation
	started      bool
	closing      bool
	wg           sync.WaitGroup
	toBrowserMap atomic.Pointer[ptMap]
	toRelay      atomic.Pointer[ptMap]
	doneOnce     sync.Once
	done         chan struct{}
	err          error
	connectedAt  time.Time
	rep          *reporter // RTCP reports on the fast path (rtcp.go)
	tx           txCounts  // what the fast path sent the browser, for them
	rx           rxCounts  // what it got from the browser
	rtt          rttState  // round trips from the browser's reports (rtt.go)

	fromBrowserPkts, toBrowserPkts, dropped atomic.Uint64
}

// Stats are a leg's packet counters.
type Stats struct {
	FromBrowser uint64 // RTP from the browser sent on to the relay
	ToBrowser   uint64 // RTP from the relay sent on to the browser
	Dropped     uint64 // not passed: a format the other leg did not negotiate, a stranger, RTCP

	// The part of the browser's SRTP decrypted (FastIn) and encrypted
	// (FastOut) on the fast path (srtpmux) rather than by pion, and what
	// came from the browser's address but did not authenticate (FastBad).
	FastIn, FastOut, FastBad uint64

	// RTT is the last round-trip time measured from the browser's
	// reception reports about our stream (RFC 3550 §6.4.1, on the fast
	// path; 0 before one); RTTSamples counts the measurements and
	// Reports the browser's RTCP packets seen on the fast path.
	RTT                 time.Duration
	RTTSamples, Reports uint64
}

func (e *Engine) newLeg() (*Leg, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(e.cfg.BridgeIP, 0)))
	if err != nil {
		return nil, fmt.Errorf("webrtc: bridge socket: %w", err)
	}
	l := &Leg{e: e, conn: conn, done: make(chan struct{})}
	if err := e.add(l); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return l, nil
}

// LocalAddr is the address of the leg's RTP face, the one its plain SDP
// names.
func (l *Leg) LocalAddr() netip.AddrPort { return l.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// AcceptOffer takes a browser's offer. It checks it (ErrNoFingerprint,
// ErrNoICE, ErrBadCandidate, ErrNoCommonCodec: all answered 488) and
// returns the leg with the plain RTP offer to send on: the browser's
// codecs that can be bridged, with its payload types, at LocalAddr.
func (e *Engine) AcceptOffer(offer []byte) (*Leg, []byte, error) {
	b, err := parseBrowser(offer)
	if err != nil {
		return nil, nil, err
	}
	keep, audio := supported(b.codecs)
	if !audio {
		return nil, nil, ErrNoCommonCodec
	}
	l, err := e.newLeg()
	if err != nil {
		return nil, nil, err
	}
	l.offer = append([]byte(nil), offer...)
	l.browserCs = keep
	l.re.dir = b.direction
	return l, plainSDP(keep, l.LocalAddr(), b.direction, 1), nil
}

// Answer takes the other leg's answer to the plain offer (as the B2BUA
// rewrote it: to is the relay's address in it, where the leg sends the
// browser's RTP) and returns the WebRTC answer for the browser: the codec
// the other leg chose (and telephone-event if both have it), ICE-lite
// candidates, a=setup:active (RFC 8842 §5.3). Calling it again (a 183, then
// the 200) returns the same answer.
func (l *Leg) Answer(plainAnswer []byte, to netip.AddrPort) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing {
		return nil, ErrClosed
	}
	if l.offer == nil {
		return nil, errState
	}
	if l.result != nil {
		return l.result, nil
	}
	st, err := plainStream(plainAnswer)
	if err != nil {
		return nil, err
	}
	chosen := pick(l.browserCs, st.Codecs)
	if chosen == nil {
		return nil, ErrNoCommonCodec
	}
	pc, track, err := l.newPC(chosen)
	if err != nil {
		return nil, err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(l.offer)}); err != nil {
		return nil, fmt.Errorf("%w: webrtc: browser offer: %v", sdp.ErrMalformed, err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		return nil, fmt.Errorf("webrtc: add track: %w", err)
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return nil, fmt.Errorf("%w: webrtc: answer: %v", sdp.ErrMalformed, err)
	}
	local, err := l.setLocal(ans)
	if err != nil {
		return nil, err
	}
	l.to = unmap(to)
	l.toAddr.Store(&l.to)
	l.browserUse, l.plainUse = chosen, pick(st.Codecs, chosen)
	l.toRelay.Store(newPTMap(chosen, st.Codecs))
	l.toBrowserMap.Store(newPTMap(st.Codecs, chosen))
	l.result = []byte(local)
	l.re.first = l.result
	l.startRelayReader()
	return l.result, nil
}

// Offer makes a leg towards a browser that is called: from the plain offer
// (as the B2BUA rewrote it: to is the relay's address in it) it returns the
// WebRTC offer, with the codecs of plainOffer that can be bridged, their
// payload types, ICE-lite candidates and a=setup:actpass.
func (e *Engine) Offer(plainOffer []byte, to netip.AddrPort) (*Leg, []byte, error) {
	st, err := plainStream(plainOffer)
	if err != nil {
		return nil, nil, err
	}
	keep, audio := supported(st.Codecs)
	if !audio {
		return nil, nil, ErrNoCommonCodec
	}
	l, err := e.newLeg()
	if err != nil {
		return nil, nil, err
	}
	// l is not shared yet: no lock (newPC's callbacks take it later)
	l.plainCs = keep
	l.to = unmap(to)
	l.toAddr.Store(&l.to)
	pc, track, err := l.newPC(keep)
	if err == nil {
		_, err = pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	}
	var offer webrtc.SessionDescription
	if err == nil {
		offer, err = pc.CreateOffer(nil)
	}
	var local string
	if err == nil {
		local, err = l.setLocal(offer)
	}
	if err != nil {
		_ = l.Close()
		return nil, nil, fmt.Errorf("webrtc: offer: %w", err)
	}
	l.re.first = []byte(local)
	return l, []byte(local), nil
}

// Accept takes the browser's answer to Offer and returns the plain RTP
// answer for the other leg: the codecs the browser chose, at LocalAddr.
// Calling it again (a 183, then the 200) returns the same answer.
func (l *Leg) Accept(answer []byte) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing {
		return nil, ErrClosed
	}
	if l.plainCs == nil || l.pc == nil {
		return nil, errState
	}
	if l.result != nil {
		return l.result, nil
	}
	b, err := parseBrowser(answer)
	if err != nil {
		return nil, err
	}
	chosen := pick(b.codecs, l.plainCs)
	if chosen == nil {
		return nil, ErrNoCommonCodec
	}
	if err := l.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		return nil, fmt.Errorf("%w: webrtc: browser answer: %v", sdp.ErrMalformed, err)
	}
	plain := pick(l.plainCs, chosen) // the same codecs with the RTP side's payload types
	l.browserUse, l.plainUse = chosen, plain
	l.re.dir = b.direction
	l.toRelay.Store(newPTMap(chosen, plain))
	l.toBrowserMap.Store(newPTMap(plain, chosen))
	l.result = plainSDP(plain, l.LocalAddr(), mirror(b.direction), 1)
	l.startRelayReader()
	return l.result, nil
}

// newPC makes the leg's PeerConnection with exactly codecs (their payload
// types included), and its outgoing track. Called with l.mu held or
// before l is shared.
func (l *Leg) newPC(codecs []sdp.Codec) (*webrtc.PeerConnection, *rtpTrack, error) {
	if l.e.fast != nil {
		l.keys = &srtpmux.Keys{}
	}
	api, err := l.e.api(codecs, l.keys)
	if err != nil {
		return nil, nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, nil, fmt.Errorf("webrtc: peer connection: %w", err)
	}
	var audio sdp.Codec
	for _, c := range codecs {
		if !c.IsEvent() {
			audio = c
			break
		}
	}
	track := newTrack("audio", params(audio))
	pc.OnTrack(l.fromBrowser)
	if l.keys != nil {
		l.stream = l.e.fast.NewStream(l.keys, l.fromBrowserFast)
		l.stream.OnRTCP(l.fromBrowserRTCP) // the browser's reports: RTT (rtt.go)
		pc.SCTP().Transport().ICETransport().OnSelectedCandidatePairChange(func(*webrtc.ICECandidatePair) {
			if pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
				l.arm()
			}
		})
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			l.mu.Lock()
			l.connectedAt = time.Now()
			l.mu.Unlock()
			l.arm()
		case webrtc.PeerConnectionStateFailed:
			l.finish(ErrConsent)
		case webrtc.PeerConnectionStateClosed:
			l.finish(ErrClosed)
		}
	})
	l.pc, l.track = pc, track
	return pc, track, nil
}

// setLocal sets our description and waits for ICE gathering (no trickle
// in SIP: the candidates go in the SDP). Called with l.mu held.
func (l *Leg) setLocal(d webrtc.SessionDescription) (string, error) {
	gathered := webrtc.GatheringCompletePromise(l.pc)
	if err := l.pc.SetLocalDescription(d); err != nil {
		return "", fmt.Errorf("webrtc: local description: %w", err)
	}
	t := time.NewTimer(gatherTimeout)
	defer t.Stop()
	select {
	case <-gathered:
	case <-t.C:
		return "", errors.New("webrtc: ICE gathering timed out")
	}
	return l.pc.LocalDescription().SDP, nil
}

// fromBrowser runs for the browser's track (pion calls it on the first
// packet): each RTP packet, decrypted, goes to the relay with its payload
// type mapped.
func (l *Leg) fromBrowser(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return
	}
	l.wg.Add(1)
	to := l.to
	l.mu.Unlock()
	defer l.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		l.passToRelay(buf[:n], to, nil)
	}
}

// fromBrowserFast takes one RTP packet of the browser decrypted on the
// fast path (on the srtpmux reader number reader).
func (l *Leg) fromBrowserFast(pkt []byte, reader int) {
	if len(pkt) >= 12 {
		l.rx.got(pkt)
	}
	l.passToRelay(pkt, l.relayAddr(), l.e.in[reader]) // sent at the end of the reader's batch
}

func (l *Leg) relayAddr() netip.AddrPort {
	if p := l.toAddr.Load(); p != nil {
		return *p
	}
	return netip.AddrPort{}
}

// passToRelay sends one decrypted RTP packet of the browser on to the
// relay, its payload type mapped (in place); with b, at b's next Flush.
func (l *Leg) passToRelay(pkt []byte, to netip.AddrPort, b *relay.InputBatch) {
	if len(pkt) < 12 {
		l.dropped.Add(1)
		return
	}
	m := l.toRelay.Load()
	if m == nil || m[pkt[1]&0x7f] == 0xff || !to.IsValid() {
		l.dropped.Add(1)
		return
	}
	pkt[1] = pkt[1]&0x80 | m[pkt[1]&0x7f]
	if side := l.side.Load(); side != nil {
		if side.InputBatch(pkt, b) {
			l.fromBrowserPkts.Add(1)
		}
		return
	}
	if _, err := l.conn.WriteToUDPAddrPort(pkt, to); err == nil {
		l.fromBrowserPkts.Add(1)
	}
}

// arm puts the leg's SRTP on the fast path once DTLS is up, towards the
// address ICE selected (again when ICE selects another pair).
func (l *Leg) arm() {
	l.mu.Lock()
	st, pc, closing := l.stream, l.pc, l.closing
	l.mu.Unlock()
	if st == nil || pc == nil || closing {
		return
	}
	pair, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Remote == nil {
		return
	}
	ip, err := netip.ParseAddr(pair.Remote.Address)
	if err != nil {
		return // an mDNS name: pion resolved it, the pair has the address
	}
	// our DTLS role (RFC 8842 §5): the browser's a=setup says it, and we
	// answer actpass as the client (Engine: SetAnsweringDTLSRole)
	isClient := true
	if rd := pc.CurrentRemoteDescription(); rd != nil {
		if b, err := parseBrowser([]byte(rd.SDP)); err == nil && b.setup == "active" {
			isClient = false
		}
	}
	remote := netip.AddrPortFrom(ip, pair.Remote.Port)
	if err := st.Arm(remote, isClient); err != nil {
		l.e.cfg.Logger.Warn("webrtc: media stays on the slow path", "browser", remote, "err", err)
		return
	}
	l.e.cfg.Logger.Debug("webrtc: media on the fast path", "browser", remote, "dtls_client", isClient)
	l.startReports()
}

// startRelayReader starts reading the RTP face: packets from the relay's
// address go to the browser. Called with l.mu held, once.
func (l *Leg) startRelayReader() {
	if l.started {
		return
	}
	l.started = true
	l.wg.Add(1)
	go l.fromRelay(l.to)
}

func (l *Leg) fromRelay(to netip.AddrPort) {
	defer l.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, src, err := l.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return // closed
		}
		// only the relay's side; RTCP (RFC 5761 §4 ranges) is the relay's
		// and pion's own business on each side
		if unmap(src) != to {
			l.dropped.Add(1)
			continue
		}
		l.toBrowser(buf[:n])
	}
}

// toBrowser passes one RTP packet from the relay to the browser, its
// payload type mapped (in place). It runs on the leg's socket reader, or
// on the relay's I/O goroutine when attached: it does not block.
func (l *Leg) toBrowser(pkt []byte) { l.toBrowserIn(pkt, relay.NoBatch) }

// toBrowserIn is toBrowser on the relay's worker batch (relay.Side.SetBatchEndpoint):
// on the fast path the packet is encrypted into the Mux's batch and leaves
// with the others of the worker's epoll batch in one sendmmsg.
func (l *Leg) toBrowserIn(pkt []byte, batch int) {
	if len(pkt) < 12 || pkt[0]>>6 != 2 || (pkt[1] >= 192 && pkt[1] <= 223) {
		l.dropped.Add(1)
		return
	}
	m := l.toBrowserMap.Load()
	if m == nil || m[pkt[1]&0x7f] == 0xff {
		l.dropped.Add(1)
		return
	}
	pkt[1] = pkt[1]&0x80 | m[pkt[1]&0x7f]
	if st := l.stream; st != nil {
		if b := l.track.cur.Load(); b != nil {
			binary.BigEndian.PutUint32(pkt[8:12], b.ssrc)
			octets, ts := len(pkt)-rtpHeaderLen(pkt), binary.BigEndian.Uint32(pkt[4:8])
			switch err := st.SendBatch(pkt, batch); {
			case err == nil:
				l.toBrowserPkts.Add(1)
				l.tx.sent(octets, ts)
				return
			case !errors.Is(err, srtpmux.ErrNotArmed):
				l.dropped.Add(1)
				return
			}
		}
	}
	if l.track.write(pkt) {
		l.toBrowserPkts.Add(1)
	} else {
		l.dropped.Add(1)
	}
}

// Attach makes side, the relay side the leg's plain SDP went to, the
// leg's RTP face in this process (relay.Side.SetEndpoint, Side.Input):
// packets no longer take the loopback hop through the leg's socket. Call
// it once the answer is known (after Answer, or Accept). After Close the
// side's endpoint drops what it gets until the relay session closes.
func (l *Leg) Attach(side *relay.Side) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing || l.track == nil {
		return
	}
	l.side.Store(side)
	if l.e.fast != nil {
		side.SetBatchEndpoint(l.toBrowserIn, l.e.fast) // sendmmsg per worker batch
		return
	}
	side.SetEndpoint(l.toBrowser)
}

// Done is closed when the leg ends: the browser is gone (Err is
// ErrConsent: ICE consent expired, RFC 7675 §5.1, or ICE and DTLS never
// completed) or the leg was closed.
func (l *Leg) Done() <-chan struct{} { return l.done }

// Err says why Done was closed; nil while it is open.
func (l *Leg) Err() error {
	select {
	case <-l.done:
		return l.err
	default:
		return nil
	}
}

// Connected reports whether ICE and DTLS completed, and when.
func (l *Leg) Connected() (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.connectedAt, !l.connectedAt.IsZero()
}

// Stats returns the leg's counters.
func (l *Leg) Stats() Stats {
	st := Stats{FromBrowser: l.fromBrowserPkts.Load(), ToBrowser: l.toBrowserPkts.Load(), Dropped: l.dropped.Load(),
		RTT: time.Duration(l.rtt.last.Load()), RTTSamples: l.rtt.samples.Load(), Reports: l.rtt.reports.Load()}
	l.mu.Lock()
	fast := l.stream
	l.mu.Unlock()
	if fast != nil {
		f := fast.Stats()
		st.FastIn, st.FastOut, st.FastBad = f.In, f.Out, f.Bad
	}
	return st
}

func (l *Leg) finish(err error) {
	l.doneOnce.Do(func() {
		l.err = err
		close(l.done)
	})
}

// Close ends the leg: the PeerConnection (a DTLS close_notify to the
// browser), the RTP socket, and every goroutine of the leg, which it waits
// for. It is safe to call more than once.
func (l *Leg) Close() error {
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return nil
	}
	l.closing = true
	pc, fast, rep := l.pc, l.stream, l.rep
	l.mu.Unlock()
	if rep != nil {
		rep.stop()
	}
	var errs []error
	if pc != nil {
		errs = append(errs, pc.GracefulClose())
	}
	if fast != nil {
		fast.Close()
	}
	errs = append(errs, l.conn.Close())
	l.wg.Wait()
	l.finish(ErrClosed)
	l.e.remove(l)
	return errors.Join(errs...)
}

// CloseContext is Close bounded by ctx for callers that must not wait on
// a stuck peer; the leg keeps closing in the background.
func (l *Leg) CloseContext(ctx context.Context) error {
	ch := make(chan error, 1)
	go func() { ch <- l.Close() }()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// plainStream parses the RTP side's SDP.
func plainStream(body []byte) (sdp.Stream, error) {
	sd, err := sdp.Parse(body)
	if err != nil {
		return sdp.Stream{}, err
	}
	return sdp.AudioStream(sd)
}

// pick returns the codecs of from (with from's payload types) that match
// one of to: the first audio codec of to that from has, and the events
// both have. Nil when no audio codec matches.
func pick(from, to []sdp.Codec) []sdp.Codec {
	var out []sdp.Codec
	audio := false
	for _, t := range to {
		if t.IsEvent() || audio {
			continue
		}
		for _, f := range from {
			if f.Matches(t) {
				out, audio = append(out, f), true
				break
			}
		}
	}
	if !audio {
		return nil
	}
	for _, t := range to {
		if !strings.EqualFold(t.Name, "telephone-event") {
			continue
		}
		for _, f := range from {
			if f.Matches(t) {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

func mirror(d psdp.Direction) psdp.Direction { return sdp.Mirror(d) }

func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}
