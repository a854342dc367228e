// Package webrtctest is a browser for tests and benchmarks: a pion
// PeerConnection that offers or answers like Chrome does for audio
// (UDP/TLS/RTP/SAVPF, full ICE, DTLS actpass, Opus, G.711 and
// telephone-event), sends a 20 ms RTP stream, and counts what it receives.
// It can vanish: its socket is closed without a word to the gateway, as when
// a laptop lid shuts.
package webrtctest

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Browser is one test browser. Make it with New; Close it.
type Browser struct {
	pc    *webrtc.PeerConnection
	conn  *net.UDPConn
	mux   *ice.UDPMuxDefault
	track *rawTrack

	received, sent, events atomic.Uint64
	firstRx                atomic.Int64 // unix ns of the first packet received
	connected              chan struct{}
	connOnce               sync.Once
	stop                   chan struct{}
	stopOnce               sync.Once
	wg                     sync.WaitGroup
	recvPT                 atomic.Int32

	rtcpMu sync.Mutex
	rtcp   Reports
}

// Reports are the RTCP reports the browser got from the gateway (RFC 3550
// §6.4): what a browser's remote-outbound-rtp (the sender reports) and
// remote-inbound-rtp (the report blocks about its own stream) statistics
// show.
type Reports struct {
	SenderReports int                  // SRs about the stream it receives
	LastSR        rtcp.SenderReport    // the last of them
	Blocks        int                  // report blocks about its own stream
	LastBlock     rtcp.ReceptionReport // the last of them
	OwnSSRC       uint32               // the SSRC of its own stream
}

// Options choose what the browser offers.
type Options struct {
	// Codecs, by mime type (webrtc.MimeTypePCMU...), in preference order.
	// Default: Opus, PCMU, PCMA, as Chrome.
	Codecs []string
	// IP is the address its ICE socket binds to. Default: 127.0.0.1.
	IP netip.Addr
}

var payloadTypes = map[string]webrtc.RTPCodecParameters{
	webrtc.MimeTypeOpus: {RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111},
	webrtc.MimeTypePCMU: {RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}, PayloadType: 0},
	webrtc.MimeTypePCMA: {RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000, Channels: 1}, PayloadType: 8},
}

// EventPT is the browser's telephone-event/8000 payload type (Chrome's).
const EventPT = 126

var errNotBound = errors.New("webrtctest: track not bound")

// New makes a browser with a PeerConnection and an outgoing audio track.
func New(o Options) (*Browser, error) {
	if len(o.Codecs) == 0 {
		o.Codecs = []string{webrtc.MimeTypeOpus, webrtc.MimeTypePCMU, webrtc.MimeTypePCMA}
	}
	if !o.IP.IsValid() {
		o.IP = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	m := &webrtc.MediaEngine{}
	for _, c := range o.Codecs {
		p, ok := payloadTypes[c]
		if !ok {
			return nil, fmt.Errorf("webrtctest: codec %s", c)
		}
		if err := m.RegisterCodec(p, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, err
		}
	}
	ev := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: 8000, Channels: 1}, PayloadType: EventPT}
	if err := m.RegisterCodec(ev, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(o.IP, 0)))
	if err != nil {
		return nil, err
	}
	b := &Browser{conn: conn, connected: make(chan struct{}), stop: make(chan struct{})}
	b.mux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn})
	se := webrtc.SettingEngine{}
	se.SetICEUDPMux(b.mux)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetICETimeouts(5*time.Second, 10*time.Second, 2*time.Second) // consent checks every 2 s
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		_ = b.mux.Close()
		return nil, err
	}
	b.pc = pc
	first := payloadTypes[o.Codecs[0]]
	b.track = &rawTrack{codec: first.RTPCodecCapability}
	tr, err := pc.AddTransceiverFromTrack(b.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	// the sender's RTCP: pion hands it the compound packets that name its
	// SSRC; the reader ends when the PeerConnection closes
	sender := tr.Sender()
	if enc := sender.GetParameters().Encodings; len(enc) > 0 {
		b.rtcp.OwnSSRC = uint32(enc[0].SSRC)
	}
	go b.readRTCP(sender)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			b.connOnce.Do(func() { close(b.connected) })
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		for {
			n, _, err := t.Read(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			// pion's TrackRemote follows the payload type of the packet
			// just read: an RFC 4733 event on the same SSRC shows as a
			// telephone-event codec
			if strings.EqualFold(t.Codec().MimeType, "audio/telephone-event") {
				b.events.Add(1)
				continue
			}
			b.recvPT.Store(int32(buf[1] & 0x7f))
			if b.received.Add(1) == 1 {
				b.firstRx.Store(time.Now().UnixNano())
			}
		}
	})
	return b, nil
}

func (b *Browser) readRTCP(s *webrtc.RTPSender) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		b.rtcpMu.Lock()
		for _, p := range pkts {
			var blocks []rtcp.ReceptionReport
			switch r := p.(type) {
			case *rtcp.SenderReport:
				if r.SSRC != b.rtcp.OwnSSRC {
					b.rtcp.SenderReports++
					b.rtcp.LastSR = *r
				}
				blocks = r.Reports
			case *rtcp.ReceiverReport:
				blocks = r.Reports
			}
			for _, rb := range blocks {
				if rb.SSRC == b.rtcp.OwnSSRC {
					b.rtcp.Blocks++
					b.rtcp.LastBlock = rb
				}
			}
		}
		b.rtcpMu.Unlock()
	}
}

// RTCP returns the reports the browser got so far.
func (b *Browser) RTCP() Reports {
	b.rtcpMu.Lock()
	defer b.rtcpMu.Unlock()
	return b.rtcp
}

// Offer returns the browser's offer, candidates included.
func (b *Browser) Offer() ([]byte, error) {
	o, err := b.pc.CreateOffer(nil)
	if err != nil {
		return nil, err
	}
	return b.setLocal(o)
}

// RestartOffer returns an offer that restarts ICE (RFC 8445 §9: new
// ice-ufrag and ice-pwd, the same DTLS fingerprint), as
// RTCPeerConnection.restartIce() makes the next offer do.
func (b *Browser) RestartOffer() ([]byte, error) {
	o, err := b.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		return nil, err
	}
	return b.setLocal(o)
}

// Accept applies the gateway's answer.
func (b *Browser) Accept(answer []byte) error {
	return b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)})
}

// Answer answers the gateway's offer.
func (b *Browser) Answer(offer []byte) ([]byte, error) {
	if err := b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
		return nil, err
	}
	a, err := b.pc.CreateAnswer(nil)
	if err != nil {
		return nil, err
	}
	return b.setLocal(a)
}

func (b *Browser) setLocal(d webrtc.SessionDescription) ([]byte, error) {
	g := webrtc.GatheringCompletePromise(b.pc)
	if err := b.pc.SetLocalDescription(d); err != nil {
		return nil, err
	}
	select {
	case <-g:
	case <-time.After(10 * time.Second):
		return nil, errors.New("webrtctest: gathering timed out")
	}
	return []byte(b.pc.LocalDescription().SDP), nil
}

// Connected is closed once ICE and DTLS are up.
func (b *Browser) Connected() <-chan struct{} { return b.connected }

// Stream sends 20 ms packets of 160 bytes (G.711) until Close or Vanish.
// With events, every 50th packet is an RFC 4733 event packet instead.
func (b *Browser) Stream(events bool) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 1}, Payload: make([]byte, 160)}
		for i := 0; ; i++ {
			select {
			case <-b.stop:
				return
			case <-t.C:
			}
			pkt.SequenceNumber++
			pkt.Timestamp += 160
			ev := events && i%50 == 49
			payload := pkt.Payload
			if ev {
				pkt.Payload = []byte{5, 0x80, 0, 160} // digit 5, end (RFC 4733 §2.3)
			}
			if err := b.track.write(pkt, ev); err == nil {
				b.sent.Add(1)
			}
			pkt.Payload = payload
		}
	}()
}

// Counts: RTP packets sent, audio received, telephone-event received.
func (b *Browser) Counts() (sent, received, events uint64) {
	return b.sent.Load(), b.received.Load(), b.events.Load()
}

// FirstReceived is when the first audio packet came; zero if none yet.
func (b *Browser) FirstReceived() time.Time {
	if n := b.firstRx.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// ReceivedPT is the payload type of the last audio packet received.
func (b *Browser) ReceivedPT() int { return int(b.recvPT.Load()) }

// Vanish stops the browser without telling anyone: its socket closes, no
// DTLS close_notify, no BYE. Close afterwards to free the rest.
func (b *Browser) Vanish() {
	b.stopOnce.Do(func() { close(b.stop) })
	_ = b.conn.Close()
}

// Close ends the browser.
func (b *Browser) Close() error {
	b.stopOnce.Do(func() { close(b.stop) })
	b.wg.Wait()
	err := b.pc.Close()
	_ = b.mux.Close()
	return err
}
