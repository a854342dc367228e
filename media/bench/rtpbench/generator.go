package main

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"golang.org/x/net/ipv4"
)

// generator plays the phones: for each call an A phone and a B phone, each
// sending one G.711 packet every 20 ms to its relay side. Phones share a few
// sockets (many calls' A phones on one socket): the relay latches per side,
// so that is fine, and it keeps the generator cheap.
type generator struct {
	a, b     []*net.UDPConn
	wg       sync.WaitGroup
	stopping chan struct{}
	sent     atomic.Uint64
	received atomic.Uint64
	skipped  atomic.Uint64 // packets not sent because the generator was late
	closing  sync.Once
}

func newGenerator(n int) (*generator, error) {
	g := &generator{stopping: make(chan struct{})}
	for range n {
		for _, list := range []*[]*net.UDPConn{&g.a, &g.b} {
			c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				g.close()
				return nil, err
			}
			_ = c.SetReadBuffer(4 << 20)
			_ = c.SetWriteBuffer(4 << 20)
			*list = append(*list, c)
		}
	}
	return g, nil
}

// stream is one phone's packet, updated in place.
type stream struct {
	pkt []byte
	to  netip.AddrPort
}

func newStream(ssrc uint32, to netip.AddrPort) stream {
	p := rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(ssrc), Timestamp: ssrc * 7, SSRC: ssrc},
		Payload: make([]byte, 160),
	}
	b, err := p.Marshal()
	if err != nil {
		panic(err)
	}
	return stream{pkt: b, to: to}
}

func (s *stream) next() {
	seq := uint16(s.pkt[2])<<8 | uint16(s.pkt[3]) + 1
	s.pkt[2], s.pkt[3] = byte(seq>>8), byte(seq)
	ts := uint32(s.pkt[4])<<24 | uint32(s.pkt[5])<<16 | uint32(s.pkt[6])<<8 | uint32(s.pkt[7]) + 160
	s.pkt[4], s.pkt[5], s.pkt[6], s.pkt[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
}

// start begins sending: call i's A phone on socket a[i%n] to ports[i][0],
// its B phone on b[i%n] to ports[i][1].
func (g *generator) start(ports [][2]int) {
	lo := netip.MustParseAddr("127.0.0.1")
	n := len(g.a)
	for k := range n {
		for side, conn := range []*net.UDPConn{g.a[k], g.b[k]} {
			var streams []stream
			for i := k; i < len(ports); i += n {
				streams = append(streams, newStream(uint32(2*i+side+1), netip.AddrPortFrom(lo, uint16(ports[i][side]))))
			}
			g.wg.Add(2)
			go g.send(conn, streams, time.Duration(k*2+side)*20*time.Millisecond/time.Duration(2*n))
			go g.recv(conn)
		}
	}
}

// batch is the number of packets per sendmmsg/recvmmsg call.
const batch = 64

// send keeps each stream at one packet per 20 ms, spread over the period:
// on every wake-up (about each 2 ms) it sends the packets that are due by
// now, in sendmmsg batches. A generator more than one period late skips
// ahead rather than bursting, so the offered rate stays honest.
func (g *generator) send(conn *net.UDPConn, streams []stream, offset time.Duration) {
	defer g.wg.Done()
	if len(streams) == 0 {
		return
	}
	pc := ipv4.NewPacketConn(conn)
	addrs := make([]*net.UDPAddr, len(streams))
	for i, s := range streams {
		addrs[i] = net.UDPAddrFromAddrPort(s.to)
	}
	msgs := make([]ipv4.Message, batch)
	for i := range msgs {
		msgs[i].Buffers = make([][]byte, 1)
	}
	time.Sleep(offset)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	var done int64 // packets sent so far, all streams together
	n := int64(len(streams))
	for {
		select {
		case <-g.stopping:
			return
		case <-tick.C:
		}
		due := int64(time.Since(start)) * n / int64(20*time.Millisecond)
		if due-done > n {
			g.skipped.Add(uint64(due - done - n))
			done = due - n
		}
		for done < due {
			k := 0
			for ; k < batch && done < due; k, done = k+1, done+1 {
				i := done % n
				streams[i].next()
				msgs[k].Buffers[0] = streams[i].pkt
				msgs[k].Addr = addrs[i]
			}
			for off := 0; off < k; {
				w, err := pc.WriteBatch(msgs[off:k], 0)
				if err != nil {
					break
				}
				g.sent.Add(uint64(w))
				off += w
			}
		}
	}
}

func (g *generator) recv(conn *net.UDPConn) {
	defer g.wg.Done()
	pc := ipv4.NewPacketConn(conn)
	msgs := make([]ipv4.Message, batch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 2048)}
	}
	for {
		n, err := pc.ReadBatch(msgs, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		g.received.Add(uint64(n))
	}
}

func (g *generator) stop() {
	select {
	case <-g.stopping:
	default:
		close(g.stopping)
	}
}

func (g *generator) counts() (sent, received, skipped uint64) {
	return g.sent.Load(), g.received.Load(), g.skipped.Load()
}

// close stops and waits for every goroutine; counts are final after it.
func (g *generator) close() {
	g.closing.Do(func() {
		g.stop()
		for _, c := range append(g.a, g.b...) {
			_ = c.Close()
		}
		g.wg.Wait()
	})
}
