package hep

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"

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

// Run opens the socket to the collector and sends until ctx ends; what is
// still queued then is not sent.
func (c *Client) Run(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", c.o.Collector)
	if err != nil {
		return fmt.Errorf("hep collector %s: %w", c.o.Collector, err)
	}
	defer conn.Close()
	buf := make([]byte, 0, 4096)
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-c.queue:
			var err error
			buf, err = Encode(buf[:0], m, c.o.ID, c.o.Password)
			if err != nil {
				c.dropped.Add(1)
				continue
			}
			if _, err := conn.Write(buf); err != nil {
				// A collector that is down answers ICMP port unreachable,
				// which the next write reports: counted, not fatal.
				if c.errors.Add(1) == 1 {
					c.o.Logger.Warn("hep: sending to the collector failed", "collector", c.o.Collector, "error", err)
				}
				continue
			}
			c.sent.Add(1)
		}
	}
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	return Stats{Sent: c.sent.Load(), Dropped: c.dropped.Load(), Errors: c.errors.Load()}
}
