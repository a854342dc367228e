package pbx

import (
	"encoding/binary"
	"errors"
	"math"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// G.711 µ-law at 8 kHz, 20 ms packets (RFC 3551 §4.5.14, §4.2).
const (
	pcmuPT        = 0
	sampleRate    = 8000
	packetSamples = 160 // 20 ms
	packetTime    = 20 * time.Millisecond
	rtpHeaderLen  = 12
	// ToneHz is the tone played: the European dial/ringback tone
	// frequency (ITU-T E.180: 425 Hz).
	ToneHz = 425
)

// MediaMode is what a call does with RTP once answered.
type MediaMode string

// Media modes.
const (
	// Echo sends every RTP packet back to where it came from.
	Echo MediaMode = "echo"
	// Tone plays a 425 Hz tone to the far end's SDP address.
	Tone MediaMode = "tone"
	// Silent only counts what arrives.
	Silent MediaMode = "silent"
)

// linearToULaw encodes one 16-bit linear sample as G.711 µ-law
// (ITU-T G.711, the segment and mantissa encoding with bias 0x84).
func linearToULaw(s int16) byte {
	const bias, clip = 0x84, 32635
	v := int(s)
	sign := 0
	if v < 0 {
		v, sign = -v, 0x80
	}
	if v > clip {
		v = clip
	}
	v += bias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (v >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

// uLawToLinear decodes a µ-law byte (for tests).
func uLawToLinear(u byte) int16 {
	u = ^u
	sign := u & 0x80
	exp := int(u>>4) & 0x07
	mant := int(u & 0x0f)
	v := ((mant << 3) + 0x84) << exp
	v -= 0x84
	if sign != 0 {
		return int16(-v)
	}
	return int16(v)
}

// tonePayload returns the µ-law samples n..n+159 of the tone at about
// -10 dBm0.
func tonePayload(n uint64, dst []byte) []byte {
	for i := range packetSamples {
		t := float64(n+uint64(i)) / sampleRate
		dst = append(dst, linearToULaw(int16(8000*math.Sin(2*math.Pi*ToneHz*t))))
	}
	return dst
}

// MediaStats counts one call's RTP.
type MediaStats struct {
	Received      uint64 `json:"rtp_received"`
	ReceivedBytes uint64 `json:"rtp_received_bytes"`
	Sent          uint64 `json:"rtp_sent"`
}

// rtpSession is a call's RTP socket.
type rtpSession struct {
	conn     *net.UDPConn
	local    netip.AddrPort
	mu       sync.Mutex
	remote   netip.AddrPort // SDP address of the far end
	latched  netip.AddrPort // source actually seen
	mode     MediaMode
	tone     bool          // play the tone (early media or Tone mode)
	eventPT  uint8         // telephone-event payload type negotiated, 0: none
	events   eventReceiver // the digits received as RFC 4733 events
	ssrc     uint32
	seq      uint16
	ts       uint32
	samples  uint64
	received atomic.Uint64
	rxBytes  atomic.Uint64
	sent     atomic.Uint64
	done     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

// newRTPSession opens a UDP socket on host, port chosen by the system.
func newRTPSession(host netip.Addr) (*rtpSession, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(host, 0)))
	if err != nil {
		return nil, err
	}
	r := &rtpSession{
		conn:  conn,
		local: conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		mode:  Silent,
		ssrc:  uint32(time.Now().UnixNano()),
		done:  make(chan struct{}),
	}
	r.wg.Add(2)
	go r.readLoop()
	go r.sendLoop()
	return r, nil
}

// set changes the far end and what is sent.
func (r *rtpSession) set(remote netip.AddrPort, mode MediaMode, tone bool) {
	r.mu.Lock()
	r.remote, r.mode, r.tone = remote, mode, tone
	r.mu.Unlock()
}

func (r *rtpSession) stats() MediaStats {
	return MediaStats{Received: r.received.Load(), ReceivedBytes: r.rxBytes.Load(), Sent: r.sent.Load()}
}

func (r *rtpSession) readLoop() {
	defer r.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, src, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if n < rtpHeaderLen || buf[0]>>6 != 2 {
			continue // not RTP version 2 (RFC 3550 §5.1)
		}
		r.received.Add(1)
		r.rxBytes.Add(uint64(n))
		r.mu.Lock()
		r.latched = src
		echo := r.mode == Echo && !r.tone
		if r.eventPT != 0 && buf[1]&0x7f == r.eventPT {
			r.events.packet(buf[:n])
		}
		r.mu.Unlock()
		if echo {
			if _, err := r.conn.WriteToUDPAddrPort(buf[:n], src); err == nil {
				r.sent.Add(1)
			}
		}
	}
}

// sendLoop plays the tone every 20 ms while asked to.
func (r *rtpSession) sendLoop() {
	defer r.wg.Done()
	t := time.NewTicker(packetTime)
	defer t.Stop()
	pkt := make([]byte, 0, rtpHeaderLen+packetSamples)
	for {
		select {
		case <-r.done:
			return
		case <-t.C:
		}
		r.mu.Lock()
		play := r.tone || r.mode == Tone
		dst := r.remote
		if !dst.IsValid() || dst.Port() == 0 {
			dst = r.latched
		}
		if !play || !dst.IsValid() {
			r.mu.Unlock()
			continue
		}
		// RTP header (RFC 3550 §5.1): V=2, PT 0, sequence, timestamp, SSRC.
		pkt = pkt[:rtpHeaderLen]
		pkt[0], pkt[1] = 0x80, pcmuPT
		binary.BigEndian.PutUint16(pkt[2:], r.seq)
		binary.BigEndian.PutUint32(pkt[4:], r.ts)
		binary.BigEndian.PutUint32(pkt[8:], r.ssrc)
		pkt = tonePayload(r.samples, pkt)
		r.seq++
		r.ts += packetSamples
		r.samples += packetSamples
		r.mu.Unlock()
		if _, err := r.conn.WriteToUDPAddrPort(pkt, dst); err == nil {
			r.sent.Add(1)
		}
	}
}

func (r *rtpSession) close() {
	r.once.Do(func() {
		close(r.done)
		_ = r.conn.Close()
		r.wg.Wait()
	})
}
