package ctisim

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

// Frame builds one CSTA-over-TCP frame: the 8-byte header (format 0, the
// 16-bit length including the header, the 4-digit invoke ID) and payload
// (cti-protocols.md §2). It panics on a payload the length can't describe.
func Frame(id cstaxml.InvokeID, payload []byte) []byte { return cstaxml.Frame(id, payload) }

// outFrame is a queued frame; stall: nothing is written after it.
type outFrame struct {
	b     []byte
	stall bool
}

// Conn is one application's CSTA-over-TCP connection to a simulated
// switch: a write queue that drops an application which can't keep up (as
// a switch does with a stuck one), the framed read loop, and the stuck
// link faults. The simulator owns the goroutines: it runs [Conn.WriteLoop]
// and [Conn.ReadLoop] and waits for them.
type Conn struct {
	nc      net.Conn
	encode  func(cstaxml.Message) ([]byte, error)
	onClose func()
	out     chan outFrame
	done    chan struct{}
	once    sync.Once
	stall   sync.Mutex // a trickled frame in progress owns the socket
}

// NewConn wraps nc. encode writes a message the way the simulated switch
// does (namespace, prefixes); onClose, run once when the connection
// closes, frees what the simulator kept for it.
func NewConn(nc net.Conn, encode func(cstaxml.Message) ([]byte, error), onClose func()) *Conn {
	return &Conn{nc: nc, encode: encode, onClose: onClose, out: make(chan outFrame, 1<<16), done: make(chan struct{})}
}

// Done is closed when the connection has closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close runs onClose and closes the connection, once.
func (c *Conn) Close() {
	c.once.Do(func() {
		if c.onClose != nil {
			c.onClose()
		}
		close(c.done)
		_ = c.nc.Close()
	})
}

// Send queues a frame; an application that can't keep up is dropped.
func (c *Conn) Send(b []byte) { c.queue(outFrame{b: b}) }

// SendStalled queues b, the start of a frame, after which nothing more is
// written on this connection (responses and events queue up unsent): a
// stuck switch link.
func (c *Conn) SendStalled(b []byte) { c.queue(outFrame{b: b, stall: true}) }

func (c *Conn) queue(f outFrame) {
	select {
	case c.out <- f:
	case <-c.done:
	default:
		go c.Close()
	}
}

// SendMsg encodes and queues m with invoke ID id. A message the frame
// header can't describe is not sent, as a switch would not.
func (c *Conn) SendMsg(id cstaxml.InvokeID, m cstaxml.Message) {
	b, err := c.encode(m)
	if err != nil || len(b) > cstaxml.MaxFrameSize-cstaxml.HeaderSize {
		return
	}
	c.Send(Frame(id, b))
}

// WriteLoop writes queued frames until the connection closes; a failed
// write closes it.
func (c *Conn) WriteLoop() {
	for {
		select {
		case <-c.done:
			return
		case f := <-c.out:
			c.stall.Lock()
			_ = c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_, err := c.nc.Write(f.b)
			c.stall.Unlock()
			if err != nil {
				c.Close()
				return
			}
			if f.stall {
				<-c.done // stuck: never another byte
				return
			}
		}
	}
}

// Trickle writes hdr, a frame header promising more than follows, then
// one byte every interval, n times or until the connection closes: a
// slow-loris switch whose frame never ends and whose link never idles.
// Nothing queued behind it gets through meanwhile.
func (c *Conn) Trickle(hdr []byte, every time.Duration, n int) {
	c.stall.Lock()
	defer c.stall.Unlock()
	if _, err := c.nc.Write(hdr); err != nil {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for range n {
		select {
		case <-c.done:
			return
		case <-t.C:
			if _, err := c.nc.Write([]byte{' '}); err != nil {
				return
			}
		}
	}
}

// Reader is what [Conn.ReadLoop] does with the frames it reads.
type Reader struct {
	// Decode decodes a frame's payload; an error is answered with a
	// generic CSTA operation error.
	Decode func([]byte) (cstaxml.Message, error)
	// SystemStatusAnswered is called for each SystemStatusResponse (the
	// application's answer to the switch's keep-alive), which is not
	// handled further.
	SystemStatusAnswered func()
	// Refused, when set, is told why a document was refused (its
	// answer is a generic operation error, as a switch's would be).
	Refused func(error)
	// Delay, when set, is how long to wait before handling each request.
	Delay func() time.Duration
	// Handle handles a request or response the application sent.
	Handle func(cstaxml.InvokeID, cstaxml.Message)
}

// ReadLoop reads frames until the connection fails or closes. A frame too
// large for the framer is skipped. It does not close the connection.
func (c *Conn) ReadLoop(r Reader) {
	f := cstaxml.NewReader(c.nc, 0)
	for {
		id, payload, err := f.Read()
		if err != nil {
			if errors.Is(err, cstaxml.ErrFrameTooLarge) {
				continue
			}
			return
		}
		m, err := r.Decode(payload)
		if err != nil {
			if r.Refused != nil {
				r.Refused(err)
			}
			c.SendMsg(id, &cstaxml.ErrorCode{Category: cstaxml.CategoryOperation, Value: "generic"})
			continue
		}
		if _, ok := m.(*cstaxml.SystemStatusResponse); ok {
			if r.SystemStatusAnswered != nil {
				r.SystemStatusAnswered()
			}
			continue
		}
		if r.Delay != nil {
			if d := r.Delay(); d > 0 {
				select {
				case <-time.After(d):
				case <-c.done:
					return
				}
			}
		}
		r.Handle(id, m)
	}
}
