package hep

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/switchboard-gw/switchboard/gateway/capture"
)

// Options configure a Client.
type Options struct {
	// Collector is the collector's host:port (UDP).
	Collector string
	// ID is the capture agent ID; Password the authentication key (none
	// when empty).
	ID       uint32
	Password string
	// Queue is how many messages may wait to be sent; more are dropped.
	// Default: 4096.
	Queue  int
	Logger *slog.Logger
}

// Stats are a Client's counters.
type Stats struct {
	// Sent counts packets sent, Dropped messages not sent because the
	// queue was full or the packet too large, Errors failed sends.
	Sent, Dropped, Errors uint64
}

// Client sends every captured message to the collector. It is a
// capture.Sink: Capture never blocks. Messages queue from New on; Run
// sends them.
type Client struct {
	o     Options
	queue chan *capture.Message

	sent, dropped, errors atomic.Uint64
	errs                  atomic.Uint64 // failed system calls, for logging the first
}

// New makes a Client; nothing is opened until Run.
func New(o Options) *Client {
	if o.Queue <= 0 {
		o.Queue = 4096
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Client{o: o, queue: make(chan *capture.Message, o.Queue)}
}

// Capture implements capture.Sink: m is queued, or dropped and counted
// when the queue is full.
func (c *Client) Capture(m *capture.Message) {
	select {
	case c.queue <- m:
	default:
		c.dropped.Add(1)
	}
}

// batchSize is the most packets sent with one system call (sendmmsg).
const batchSize = 64

// flushInterval is how often the sender wakes to send what queued: waking
// for every message would cost the gateway a scheduler round trip per SIP
// message; Homer does not mind 10 ms.
const flushInterval = 10 * time.Millisecond

// Run opens the socket to the collector and sends until ctx ends; what is
// still queued then is not sent. It wakes every flushInterval and sends
// what waits, up to batchSize packets per sendmmsg(2) (golang.org/x/net's
// WriteBatch): a wake-up and a system call per message would cost more than
// the rest of the mirror.
func (c *Client) Run(ctx context.Context) error {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "udp", c.o.Collector)
	if err != nil {
		return fmt.Errorf("hep collector %s: %w", c.o.Collector, err)
	}
	defer nc.Close()
	uc := nc.(*net.UDPConn)
	var batch interface {
		WriteBatch(ms []ipv4.Message, flags int) (int, error)
	} = ipv4.NewPacketConn(uc)
	if ra, ok := uc.RemoteAddr().(*net.UDPAddr); ok && ra.IP.To4() == nil {
		batch = ipv6.NewPacketConn(uc)
	}
	bufs := make([][]byte, batchSize)
	msgs := make([]ipv4.Message, 0, batchSize)
	tick := time.NewTicker(flushInterval)
	defer tick.Stop()
	for {
		var m *capture.Message
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		select {
		case m = <-c.queue:
		default:
			continue
		}
		more := true
		for more {
			more = c.sendBatch(batch, bufs, msgs[:0], m)
			m = nil
			if more {
				m = <-c.queue
			}
		}
	}
}

// sendBatch encodes m and what else waits, up to batchSize, and sends them
// in one system call. It reports whether the batch was full (more may
// wait).
func (c *Client) sendBatch(batch interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}, bufs [][]byte, msgs []ipv4.Message, m *capture.Message) bool {
	full := false
	for m != nil {
		i := len(msgs)
		var err error
		if bufs[i], err = Encode(bufs[i][:0], m, c.o.ID, c.o.Password); err != nil {
			c.dropped.Add(1)
		} else {
			msgs = append(msgs, ipv4.Message{Buffers: [][]byte{bufs[i]}})
		}
		m = nil
		if len(msgs) < batchSize {
			select {
			case m = <-c.queue:
			default:
			}
		} else {
			full = len(c.queue) > 0
		}
	}
	for sent := 0; sent < len(msgs); {
		n, err := batch.WriteBatch(msgs[sent:], 0)
		if err != nil {
			// A collector that is down answers ICMP port unreachable,
			// which a later send reports: counted, not fatal; the
			// batch's rest is dropped.
			c.errors.Add(uint64(len(msgs) - sent))
			if c.errs.Add(1) == 1 {
				c.o.Logger.Warn("hep: sending to the collector failed", "collector", c.o.Collector, "error", err)
			}
			break
		}
		sent += n
		c.sent.Add(uint64(n))
	}
	return full
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	return Stats{Sent: c.sent.Load(), Dropped: c.dropped.Load(), Errors: c.errors.Load()}
}
