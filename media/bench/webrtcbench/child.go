package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"

	"github.com/switchboard-gw/switchboard/media/relay"
	"github.com/switchboard-gw/switchboard/media/sdp"
	"github.com/switchboard-gw/switchboard/media/webrtc"
)

// request is one line from the parent to the child (the gateway side).
type request struct {
	Op    string `json:"op"` // call, usage, quit
	ID    int    `json:"id,omitempty"`
	Offer string `json:"offer,omitempty"`
	Plain string `json:"plain,omitempty"` // the plain RTP endpoint of the call
}

// reply is one line from the child.
type reply struct {
	ID     int    `json:"id"`
	Answer string `json:"answer,omitempty"`
	Relay  string `json:"relay,omitempty"` // the relay's B side, where the plain endpoint sends
	Err    string `json:"err,omitempty"`

	CPU         time.Duration `json:"cpu,omitempty"` // user+system of the child
	RSS         int64         `json:"rss,omitempty"` // bytes, from /proc/self/statm
	Heap        uint64        `json:"heap,omitempty"`
	Goroutines  int           `json:"goroutines,omitempty"`
	ToBrowser   uint64        `json:"to_browser,omitempty"`
	FromBrowser uint64        `json:"from_browser,omitempty"`
	Legs        int           `json:"legs,omitempty"`
	Dropped     uint64        `json:"dropped,omitempty"` // by the legs
	// the relay's A side (browser -> plain): accepted, forwarded, dropped, ignored
	RelayA [4]uint64 `json:"relay_a,omitempty"`
	NoFlow int       `json:"no_flow,omitempty"` // legs that passed nothing from their browser
	// the fast path (srtpmux): packets decrypted, encrypted, refused
	FastIn, FastOut, FastBad uint64
	// the relay's B side (plain -> browser): accepted, forwarded, dropped, ignored
	RelayB [4]uint64 `json:"relay_b,omitempty"`
	// sends the sockets refused: the ICE socket's towards the browsers
	// (srtpmux SendFailed), the reader's towards the phones (InputBatch)
	MuxSendFailed, BatchFailed uint64
	MuxDropped                 uint64 // srtpmux: slow-path queue full, or SRTP that did not authenticate
	ICEPort                    uint16 `json:"ice_port,omitempty"`
	ICEBuffer                  int    `json:"ice_buffer,omitempty"`  // each ICE socket's receive buffer, as granted
	ICEReaders                 int    `json:"ice_readers,omitempty"` // sockets sharing the ICE port (SO_REUSEPORT)
}

var loopback = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// iceReadersEnv, in the gateway side's environment, sets
// webrtc.Config.ICEReaders (-ice-readers).
const iceReadersEnv = "WEBRTCBENCH_ICE_READERS"

// runChild is the gateway side: one webrtc.Engine (ICE-lite on one UDP
// port) and one relay; each call is a Leg bridged through a relay session
// to the parent's plain RTP endpoint, as the B2BUA does it.
func runChild(portMin, portMax int, profile string, attach, slow bool) error {
	usages := 0
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rl, err := relay.New(relay.Config{ListenIP: loopback, PortMin: portMin, PortMax: portMax, MediaTimeout: -1, Logger: log})
	if err != nil {
		return err
	}
	defer rl.Close()
	readers, _ := strconv.Atoi(os.Getenv(iceReadersEnv)) // 0, unset: the default
	e, err := webrtc.New(webrtc.Config{ListenIP: loopback, Port: webrtc.PortAny, Logger: log, SlowPath: slow, ICEReaders: readers})
	if err != nil {
		return err
	}
	defer e.Close()
	var legs []*webrtc.Leg
	var sessions []*relay.Session
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var r request
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			return err
		}
		switch r.Op {
		case "call":
			rep, leg, sess := bridge(e, rl, r, attach)
			if leg != nil {
				legs = append(legs, leg)
				sessions = append(sessions, sess)
			}
			if err := out.Encode(rep); err != nil {
				return err
			}
		case "usage":
			// the 2nd and 3rd usage requests open and close the window
			if usages++; profile != "" && usages == 2 {
				f, err := os.Create(profile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
			} else if profile != "" && usages == 3 {
				pprof.StopCPUProfile()
			}
			rep := reply{ID: r.ID, CPU: cpuTime(), RSS: rss(), Goroutines: runtime.NumGoroutine(), Legs: e.Len()}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			rep.Heap = ms.HeapInuse
			for _, l := range legs {
				st := l.Stats()
				rep.ToBrowser += st.ToBrowser
				rep.FromBrowser += st.FromBrowser
				rep.Dropped += st.Dropped
				rep.FastIn += st.FastIn
				rep.FastOut += st.FastOut
				rep.FastBad += st.FastBad
				if st.FromBrowser == 0 {
					rep.NoFlow++
				}
			}
			for _, s := range sessions {
				a, b := s.Stats()
				rep.RelayA[0] += a.Packets
				rep.RelayA[1] += a.Forwarded
				rep.RelayA[2] += a.Dropped
				rep.RelayA[3] += a.Ignored
				rep.RelayB[0] += b.Packets
				rep.RelayB[1] += b.Forwarded
				rep.RelayB[2] += b.Dropped
				rep.RelayB[3] += b.Ignored
			}
			fc := e.FastCounters()
			rep.MuxSendFailed, rep.MuxDropped = fc.SendFailed, fc.Dropped
			rep.BatchFailed = e.RelayBatchCounters().Failed
			rep.ICEPort, rep.ICEBuffer, rep.ICEReaders = e.Addr().Port(), e.ReadBuffer(), e.ICEReaders()
			if err := out.Encode(rep); err != nil {
				return err
			}
		case "quit":
			return nil
		}
	}
	return in.Err()
}

func bridge(e *webrtc.Engine, rl *relay.Relay, r request, attach bool) (reply, *webrtc.Leg, *relay.Session) {
	fail := func(err error) (reply, *webrtc.Leg, *relay.Session) {
		return reply{ID: r.ID, Err: err.Error()}, nil, nil
	}
	plain, err := netip.ParseAddrPort(r.Plain)
	if err != nil {
		return fail(err)
	}
	sess, err := rl.NewSession()
	if err != nil {
		return fail(err)
	}
	leg, plainOffer, err := e.AcceptOffer([]byte(r.Offer))
	if err != nil {
		_ = sess.Close()
		return fail(err)
	}
	sd, err := sdp.Parse(plainOffer)
	var st sdp.Stream
	if err == nil {
		st, err = sdp.AudioStream(sd)
	}
	if err != nil {
		_ = leg.Close()
		_ = sess.Close()
		return fail(err)
	}
	sess.A().SetRemote(st.Remote())
	sess.B().SetRemote(relay.Remote{RTP: plain, RTCP: plain})
	a := sess.A().LocalAddr()
	ans := fmt.Sprintf("v=0\r\no=relay 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n",
		a.Addr(), a.Addr(), a.Port())
	wans, err := leg.Answer([]byte(ans), a)
	if err != nil {
		_ = leg.Close()
		_ = sess.Close()
		return fail(err)
	}
	if attach {
		leg.Attach(sess.A()) // the relay hook: no loopback hop (relay.Side.SetEndpoint)
	}
	return reply{ID: r.ID, Answer: string(wans), Relay: sess.B().LocalAddr().String()}, leg, sess
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rss is the resident set from /proc/self/statm.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, res int64
	if _, err := fmt.Sscan(string(b), &size, &res); err != nil {
		return 0
	}
	return res * int64(os.Getpagesize())
}
