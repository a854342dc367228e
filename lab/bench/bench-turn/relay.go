package main

import (
	"encoding/binary"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/stun/v4"

	"github.com/switchboard-gw/switchboard/media/turn"
)

// leg is one relaying allocation driven by hand (no client library, so the
// load generator stays light): a connected UDP socket to the server, a
// channel bound to its own echo peer.
type leg struct {
	conn *net.UDPConn
	peer *net.UDPConn
	ch   uint16
	auth []stun.Setter
}

// rt sends m and returns the response with its transaction ID.
func rt(c *net.UDPConn, m *stun.Message) *stun.Message {
	if _, err := c.Write(m.Raw); err != nil {
		return nil
	}
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil
		}
		res := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if res.Decode() == nil && res.TransactionID == m.TransactionID {
			return res
		}
	}
}

// setupLeg allocates, binds channel ch to a new echo peer on 127.0.0.2.
func setupLeg(server *net.UDPAddr, user string, ch uint16) (*leg, error) {
	conn, err := net.DialUDP("udp4", nil, server)
	if err != nil {
		return nil, err
	}
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	l := &leg{conn: conn, peer: peer, ch: ch}
	fail := func() (*leg, error) { l.close(); return nil, errSetup }
	res := rt(conn, stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest), transportUDP))
	var nonce stun.Nonce
	var rlm stun.Realm
	if res == nil || nonce.GetFrom(res) != nil || rlm.GetFrom(res) != nil {
		return fail()
	}
	username, password := turn.RESTCredentials(secret, user, time.Now().Add(time.Hour))
	l.auth = []stun.Setter{stun.NewUsername(username), rlm, nonce, stun.NewLongTermIntegrity(username, rlm.String(), password), stun.Fingerprint}
	res = rt(conn, stun.MustBuild(append([]stun.Setter{stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest), transportUDP}, l.auth...)...))
	if res == nil || res.Type.Class != stun.ClassSuccessResponse {
		return fail()
	}
	pa := peer.LocalAddr().(*net.UDPAddr)
	res = rt(conn, stun.MustBuild(append([]stun.Setter{stun.TransactionID, stun.NewType(stun.MethodChannelBind, stun.ClassRequest),
		stun.RawAttribute{Type: stun.AttrChannelNumber, Value: []byte{byte(ch >> 8), byte(ch), 0, 0}},
		xorPeer{pa}}, l.auth...)...))
	if res == nil || res.Type.Class != stun.ClassSuccessResponse {
		return fail()
	}
	return l, nil
}

type xorPeer struct{ a *net.UDPAddr }

func (p xorPeer) AddTo(m *stun.Message) error {
	return (&stun.XORMappedAddress{IP: p.a.IP, Port: p.a.Port}).AddToAs(m, stun.AttrXORPeerAddress)
}

type setupError struct{}

func (setupError) Error() string { return "allocation or channel bind failed" }

var errSetup error = setupError{}

// release deallocates (Refresh with LIFETIME 0, RFC 8656 §7.3) and closes.
func (l *leg) release() {
	_ = rt(l.conn, stun.MustBuild(append([]stun.Setter{stun.TransactionID, stun.NewType(stun.MethodRefresh, stun.ClassRequest),
		stun.RawAttribute{Type: stun.AttrLifetime, Value: []byte{0, 0, 0, 0}}}, l.auth...)...))
	l.close()
}

func (l *leg) close() {
	_ = l.conn.Close()
	_ = l.peer.Close()
}

// relayPhase sets up n legs, sends pps ChannelData packets a second on
// each to its echo peer for d, and counts what comes back through the
// relay (each echoed packet crossed the server twice).
func relayPhase(addr string, n, pps, size int, d time.Duration) (sent, recv int64, setupFail int, err error) {
	server, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return 0, 0, 0, err
	}
	legs := make([]*leg, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			legs[i], _ = setupLeg(server, "relay"+strconv.Itoa(i), 0x4000+uint16(i%0x3FFF))
		}()
	}
	wg.Wait()
	live := legs[:0]
	for _, l := range legs {
		if l == nil {
			setupFail++
			continue
		}
		live = append(live, l)
	}
	var recvN, sentN atomic.Int64
	counting := atomic.Bool{}
	var rw sync.WaitGroup
	for _, l := range live {
		_ = l.conn.SetReadDeadline(time.Time{})
		rw.Add(2)
		go func() { // the peer echoes to the relay address
			defer rw.Done()
			buf := make([]byte, 2048)
			for {
				k, from, err := l.peer.ReadFromUDP(buf)
				if err != nil {
					return
				}
				_, _ = l.peer.WriteToUDP(buf[:k], from)
			}
		}()
		go func() { // ChannelData back from the server
			defer rw.Done()
			buf := make([]byte, 2048)
			for {
				k, err := l.conn.Read(buf)
				if err != nil {
					return
				}
				if k >= 4 && buf[0]&0xC0 == 0x40 && counting.Load() {
					recvN.Add(1)
				}
			}
		}()
	}
	const perSender = 64
	var sw sync.WaitGroup
	end := time.Now().Add(d)
	counting.Store(true)
	for g := 0; g < len(live); g += perSender {
		group := live[g:min(g+perSender, len(live))]
		sw.Add(1)
		go func() {
			defer sw.Done()
			pkts := make([][]byte, len(group))
			for i, l := range group {
				p := make([]byte, 4+size)
				binary.BigEndian.PutUint16(p[0:2], l.ch)
				binary.BigEndian.PutUint16(p[2:4], uint16(size)) //nolint:gosec // size is small
				pkts[i] = p
			}
			tick := time.NewTicker(time.Second / time.Duration(pps))
			defer tick.Stop()
			for now := range tick.C {
				if now.After(end) {
					return
				}
				for i, l := range group {
					if _, err := l.conn.Write(pkts[i]); err == nil {
						sentN.Add(1)
					}
				}
			}
		}()
	}
	sw.Wait()
	time.Sleep(300 * time.Millisecond) // packets still in flight
	counting.Store(false)
	got := recvN.Load()
	for _, l := range live {
		_ = l.conn.SetReadDeadline(time.Now())
		_ = l.peer.SetReadDeadline(time.Now())
	}
	rw.Wait()
	var cw sync.WaitGroup
	for i, l := range live {
		cw.Add(1)
		sem <- struct{}{}
		go func() {
			defer cw.Done()
			defer func() { <-sem }()
			_ = i
			l.release()
		}()
	}
	cw.Wait()
	return sentN.Load(), got, setupFail, nil
}
