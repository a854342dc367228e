package relay

import (
	"context"
	"encoding/binary"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"

	"github.com/switchboard-gw/switchboard/media/dtmf"
)

// TestSendEventOnStream: while A's phone streams 20 ms PCMU to B's, B
// gets a digit injected. B sees RFC 4733 packets on the audio's SSRC with
// the negotiated payload type, the event code, the marker on the first,
// three end packets with the full duration, one timestamp on the audio's
// timeline, no audio while the event lasts, and one gapless sequence of
// audio and events.
func TestSendEventOnStream(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{"socket", "endpoint"} {
		t.Run(engine, func(t *testing.T) { testSendEvent(t, engine == "endpoint") })
	}
}

func testSendEvent(t *testing.T, inproc bool) {
	r := newTestRelay(t, Config{})
	s, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	a, b := newEndpoint(t), newEndpoint(t)
	s.A().SetRemote(Remote{RTP: a.addr()})
	s.B().SetRemote(Remote{RTP: b.addr(), EventPayloadType: 101})

	var mu sync.Mutex
	var got []*rtp.Packet
	take := func(raw []byte) {
		var p rtp.Packet
		if err := p.Unmarshal(append([]byte(nil), raw...)); err != nil {
			t.Errorf("not RTP: %v", err)
			return
		}
		mu.Lock()
		got = append(got, &p)
		mu.Unlock()
	}
	if inproc { // the far end is a WebRTC leg in the process
		s.B().SetEndpoint(take)
	} else {
		go func() {
			for {
				raw, _ := b.recv(3 * time.Second)
				if raw == nil {
					return
				}
				take(raw)
			}
		}()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // A's phone: 20 ms audio until the end
		defer wg.Done()
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for ctx.Err() == nil {
			a.send(s.A().LocalAddr(), a.packet())
			<-tk.C
		}
	}()
	// waitAudio waits for n audio packets in all (generous: a loaded
	// machine delays the phone's ticks, not what the relay does)
	waitAudio := func(n int) {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			k := 0
			for _, p := range got {
				if p.PayloadType == 0 {
					k++
				}
			}
			mu.Unlock()
			if k >= n {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitAudio(5)
	mu.Lock()
	nBefore := len(got)
	mu.Unlock()
	ev := dtmf.Event{Code: 11, Duration: 160 * time.Millisecond}
	if err := s.B().SendEvent(context.Background(), ev, 101, 8000); err != nil {
		t.Fatal(err)
	}
	waitAudio(nBefore + 5)
	cancel()
	wg.Wait()
	time.Sleep(50 * time.Millisecond)

	mu.Lock()
	defer mu.Unlock()
	var audio, events []*rtp.Packet
	for _, p := range got {
		switch p.PayloadType {
		case 0:
			audio = append(audio, p)
		case 101:
			events = append(events, p)
		default:
			t.Errorf("payload type %d", p.PayloadType)
		}
	}
	if len(events) != len(dtmf.Plan(ev, 8000)) {
		t.Fatalf("%d event packets, want %d", len(events), len(dtmf.Plan(ev, 8000)))
	}
	if len(audio) < 10 {
		t.Fatalf("%d audio packets", len(audio))
	}
	ssrc := audio[0].SSRC
	ends := 0
	for i, p := range events {
		if p.SSRC != ssrc {
			t.Errorf("event %d SSRC %x, audio's %x", i, p.SSRC, ssrc)
		}
		if p.Marker != (i == 0) {
			t.Errorf("event %d marker %v", i, p.Marker)
		}
		if p.Timestamp != events[0].Timestamp {
			t.Errorf("event %d timestamp %d, first %d", i, p.Timestamp, events[0].Timestamp)
		}
		if len(p.Payload) != 4 || p.Payload[0] != 11 || p.Payload[1]&0x40 != 0 {
			t.Fatalf("event %d payload % x", i, p.Payload)
		}
		if p.Payload[1]&0x80 != 0 {
			ends++
			if d := binary.BigEndian.Uint16(p.Payload[2:]); d != 1280 {
				t.Errorf("end packet duration %d, want 1280 (160 ms at 8 kHz)", d)
			}
		}
	}
	if ends != 3 {
		t.Errorf("%d end packets, want 3", ends)
	}
	// one gapless sequence of audio and events, no number twice
	seqs := make([]int, 0, len(got))
	for _, p := range got {
		seqs = append(seqs, int(p.SequenceNumber))
	}
	sort.Ints(seqs)
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("sequence numbers %d then %d: %v", seqs[i-1], seqs[i], seqs)
		}
	}
	// the event starts on the audio's timeline: between the timestamps of
	// the audio sent before and after it (one packet of slack each way
	// for the pacing of a loaded machine)
	first := events[0]
	var before, after *rtp.Packet
	for _, p := range audio {
		if p.SequenceNumber < first.SequenceNumber {
			before = p
		} else if after == nil {
			after = p
		}
	}
	if before == nil || after == nil {
		t.Fatal("no audio around the event")
	}
	if last := events[len(events)-1]; after.SequenceNumber < last.SequenceNumber {
		t.Errorf("audio (seq %d) sent during the event (seq %d-%d): it is held back while an event lasts",
			after.SequenceNumber, first.SequenceNumber, last.SequenceNumber)
	}
	if first.Timestamp+160 < before.Timestamp || first.Timestamp > after.Timestamp+160 {
		t.Errorf("event timestamp %d, audio around it %d and %d", first.Timestamp, before.Timestamp, after.Timestamp)
	}
	t.Logf("%d audio, %d event packets; event ts %d between audio %d and %d", len(audio), len(events), first.Timestamp, before.Timestamp, after.Timestamp)
}

// TestSendEventNoStream: events to a far end that was sent no audio yet
// start a stream of their own; a side on hold or a closed session takes
// none.
func TestSendEventNoStream(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{})
	s, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	b := newEndpoint(t)
	s.B().SetRemote(Remote{RTP: b.addr()})
	ev := dtmf.Event{Code: 1, Duration: 40 * time.Millisecond}
	if err := s.B().SendEvent(context.Background(), ev, 96, 48000); err != nil {
		t.Fatal(err)
	}
	var seqs []uint16
	var ssrc uint32
	for range len(dtmf.Plan(ev, 48000)) {
		p := b.recvRTP(5 * time.Second)
		if p == nil || p.PayloadType != 96 {
			t.Fatalf("got %v", p)
		}
		if ssrc != 0 && p.SSRC != ssrc {
			t.Errorf("SSRC changed")
		}
		ssrc = p.SSRC
		seqs = append(seqs, p.SequenceNumber)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Errorf("sequence %v", seqs)
		}
	}
	// audio that comes after goes on from the events' numbers
	a := newEndpoint(t)
	s.A().SetRemote(Remote{RTP: a.addr()})
	a.send(s.A().LocalAddr(), a.packet())
	if p := b.recvRTP(5 * time.Second); p == nil || p.SequenceNumber != seqs[len(seqs)-1]+1 {
		t.Errorf("first audio after the events: %v, want sequence number %d", p, seqs[len(seqs)-1]+1)
	}
	s.B().SetRemote(Remote{RTP: b.addr(), Direction: sdp.DirectionSendOnly})
	if err := s.B().SendEvent(context.Background(), ev, 96, 8000); !errors.Is(err, ErrNoEvents) {
		t.Errorf("to a holding far end: %v, want ErrNoEvents", err)
	}
	_ = s.Close()
	if err := s.A().SendEvent(context.Background(), ev, 96, 8000); !errors.Is(err, ErrNoEvents) {
		t.Errorf("after Close: %v, want ErrNoEvents", err)
	}
}

// TestSendEventCut: a cancelled event still sends its three end packets.
func TestSendEventCut(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{})
	s, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	b := newEndpoint(t)
	s.B().SetRemote(Remote{RTP: b.addr()})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err = s.B().SendEvent(ctx, dtmf.Event{Code: 3, Duration: 2 * time.Second}, 101, 8000)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	n, ends := 0, 0
	for {
		p := b.recvRTP(300 * time.Millisecond)
		if p == nil {
			break
		}
		n++
		if p.Payload[1]&0x80 != 0 {
			ends++
		}
	}
	if ends != 3 || n > 10 {
		t.Errorf("%d packets, %d ends; want a few, 3 ends", n, ends)
	}
}

// TestTimelineNow: what is injected right after an audio packet starts
// one packet after it, never on its timestamp (CI once saw a tone's first
// packet share the last audio packet's timestamp: it started within
// 125 µs of that packet's arrival); later, the time since the packet
// arrived counts; a stream of the relay's own goes on from where it is.
func TestTimelineNow(t *testing.T) {
	const ms = int64(time.Millisecond)
	for _, tc := range []struct {
		name string
		o    outStream
		now  int64
		min  uint32
		want uint32
	}{
		{"at once", outStream{ts: 1000, at: 50 * ms}, 50 * ms, 160, 1160},
		{"100 us later", outStream{ts: 1000, at: 50 * ms}, 50*ms + 100_000, 160, 1160},
		{"5 ms later", outStream{ts: 1000, at: 50 * ms}, 55 * ms, 160, 1160},
		{"30 ms later", outStream{ts: 1000, at: 50 * ms}, 80 * ms, 160, 1240},
		{"wraps", outStream{ts: 0xffffffa0, at: 0}, 0, 160, 0x40},
		{"48 kHz", outStream{ts: 7, at: 0}, 0, 960, 967},
		{"own stream", outStream{ts: 1000, at: 50 * ms, fresh: true}, 50 * ms, 160, 1000},
	} {
		if got := tc.o.timelineNow(tc.now, 8000, tc.min); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
