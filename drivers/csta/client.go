package csta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCallTimeout bounds Client.Call when its context has no deadline.
const DefaultCallTimeout = 10 * time.Second

// ClientConfig configures a Client. The zero value is usable.
type ClientConfig struct {
	// Namespace is the CSTA namespace requests are encoded in.
	// Default: DefaultEdition.Namespace() (ed5).
	Namespace string
	// CallTimeout bounds Call when the context has no deadline, and every
	// frame write. Default: DefaultCallTimeout.
	CallTimeout time.Duration
	// NewFramer wraps the connection. Default: NewHeaderFramer with default
	// options.
	NewFramer func(io.ReadWriter) Framer
	// Decoder decodes incoming documents. Default: the zero Decoder.
	Decoder *Decoder
	// OnEvent receives events (invoke ID 9999, or a root named ...Event) in
	// the order they arrive, on the reading goroutine: it must return
	// quickly and must not wait for Call (the response could not be read
	// until it returns). Typed events implement Event; others are
	// *RawMessage. Default: events are dropped.
	OnEvent func(Message)
	// OnRequest answers requests the switch sends, on a goroutine of their
	// own. Returning nil gives the default answer: SystemStatusResponse to
	// SystemStatus, CSTAErrorCode operation/generic to anything else (~ the
	// value "generic" is from ECMA-269's operation errors).
	// Default: default answers only.
	OnRequest func(ctx context.Context, req Message) Message
	// OnError is told about frames that were dropped: undecodable
	// documents, oversized frames, responses nobody waits for. Default: none.
	OnError func(error)
}

// Client is a CSTA application's side of a link: it sends requests with
// fresh invoke IDs, matches the responses, passes events on and answers the
// switch's own requests. It is safe for concurrent use.
type Client struct {
	cfg    ClientConfig
	conn   io.Closer
	framer Framer
	dec    *Decoder

	wmu sync.Mutex // serialises write deadlines with writes

	mu      sync.Mutex
	next    InvokeID
	pending map[InvokeID]chan result
	err     error // set once, when closing

	ns atomic.Pointer[string] // the namespace requests and answers are written in

	ctx    context.Context // cancelled on close, passed to OnRequest
	cancel context.CancelFunc
	done   chan struct{}
	wg     sync.WaitGroup
}

type result struct {
	m   Message
	err error
}

// NewClient starts a client on conn (a net.Conn or *tls.Conn, after any
// TLS handshake) and its reading goroutine. Close the client to stop it; it
// closes conn.
func NewClient(conn io.ReadWriteCloser, cfg ClientConfig) *Client {
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultEdition.Namespace()
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	var f Framer
	if cfg.NewFramer != nil {
		f = cfg.NewFramer(conn)
	} else {
		f = NewHeaderFramer(conn)
	}
	dec := cfg.Decoder
	if dec == nil {
		dec = &Decoder{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		cfg: cfg, conn: conn, framer: f, dec: dec,
		next: MinInvokeID, pending: make(map[InvokeID]chan result),
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
	}
	c.ns.Store(&cfg.Namespace)
	c.wg.Add(1)
	go c.readLoop()
	return c
}

// SetNamespace changes the CSTA namespace of the requests and answers
// written from now on: AE Services wants them in the protocol version its
// StartApplicationSessionPosResponse named (…/ed3/privN), which is known
// only once the session is up.
func (c *Client) SetNamespace(ns string) { c.ns.Store(&ns) }

func (c *Client) namespace() string { return *c.ns.Load() }

// Call sends req and waits for its response. A CSTAErrorCode answer is
// returned as a *CSTAErrorCode error (errors.Is(err, ErrCSTA)), a session
// NegResponse as a *SessionError (errors.Is(err, ErrSessionRefused)). If
// ctx has no deadline, CallTimeout applies. A response arriving after
// Call gave up is dropped (and reported to OnError).
//
// req may be any Message; for a *RawMessage the expected response is its
// root name plus "Response".
func (c *Client) Call(ctx context.Context, req Message) (Message, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.CallTimeout)
		defer cancel()
	}
	payload, err := Marshal(req, c.namespace())
	if err != nil {
		return nil, err
	}
	id, ch, err := c.register()
	if err != nil {
		return nil, err
	}
	if err := c.write(ctx, Frame{InvokeID: id, Payload: payload}); err != nil {
		c.unregister(id)
		return nil, err
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, r.err
		}
		resp, err := checkResponse(req, r.m)
		if errors.Is(err, ErrUnexpectedResponse) {
			// Most likely the late answer to an earlier request whose
			// invoke ID this one reused: tell OnError, as for any late
			// response (a MonitorStart it answers made a monitor).
			c.report(&LateResponse{InvokeID: id, Msg: r.m})
		}
		return resp, err
	case <-ctx.Done():
		c.unregister(id)
		return nil, fmt.Errorf("csta: %s (invoke ID %s): %w", req.RootName(), id, ctx.Err())
	case <-c.done:
		return nil, c.Err()
	}
}

func checkResponse(req, resp Message) (Message, error) {
	switch r := resp.(type) {
	case *CSTAErrorCode:
		return nil, r
	case negResponse:
		return nil, r.sessionError()
	}
	want := req.RootName() + "Response"
	if rq, ok := req.(Request); ok {
		want = rq.ResponseName()
	}
	if resp.RootName() != want {
		return nil, fmt.Errorf("%w: sent <%s>, got <%s>", ErrUnexpectedResponse, req.RootName(), resp.RootName())
	}
	return resp, nil
}

// register allocates the next free invoke ID in 1-9998, wrapping.
func (c *Client) register() (InvokeID, chan result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, nil, c.err
	}
	for range MaxInvokeID {
		id := c.next
		c.next++
		if c.next > MaxInvokeID {
			c.next = MinInvokeID
		}
		if _, busy := c.pending[id]; !busy {
			ch := make(chan result, 1)
			c.pending[id] = ch
			return id, ch, nil
		}
	}
	return 0, nil, ErrTooManyPending
}

func (c *Client) unregister(id InvokeID) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// take removes and returns the waiter for id.
func (c *Client) take(id InvokeID) (chan result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.pending[id]
	delete(c.pending, id)
	return ch, ok
}

type writeDeadliner interface{ SetWriteDeadline(time.Time) error }

// write sends one frame. A write that times out leaves the link in an
// unknown state (part of a frame may be out), so it closes the client.
func (c *Client) write(ctx context.Context, f Frame) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if wd, ok := c.conn.(writeDeadliner); ok {
		dl, ok := ctx.Deadline()
		if !ok {
			dl = time.Now().Add(c.cfg.CallTimeout)
		}
		_ = wd.SetWriteDeadline(dl)
	}
	if err := c.framer.WriteFrame(f); err != nil {
		if errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrBadInvokeID) {
			return err // nothing was written
		}
		err = fmt.Errorf("%w: write: %w", ErrClosed, err)
		c.shutdown(err)
		return err
	}
	return nil
}

func (c *Client) readLoop() {
	defer c.wg.Done()
	for {
		f, err := c.framer.ReadFrame()
		if err != nil {
			if errors.Is(err, ErrFrameTooLarge) {
				c.fail(f.InvokeID, err)
				continue
			}
			if errors.Is(err, io.EOF) {
				err = ErrClosed
			} else {
				err = fmt.Errorf("%w: %w", ErrClosed, err)
			}
			c.shutdown(err)
			return
		}
		m, err := c.dec.Decode(f.Payload)
		if err != nil {
			c.fail(f.InvokeID, fmt.Errorf("invoke ID %s: %w", f.InvokeID, err))
			continue
		}
		c.dispatch(f.InvokeID, m)
	}
}

// LateResponse is what OnError is told of a response that matches no
// request: most often one that came after its Call gave up. The request
// may still have taken effect at the switch (a MonitorStart that timed
// out leaves a monitor the application does not know of), so the
// application can look at Msg and undo it. It wraps ErrUnexpectedResponse.
type LateResponse struct {
	InvokeID InvokeID
	Msg      Message
}

func (e *LateResponse) Error() string {
	return fmt.Sprintf("%s: <%s> with invoke ID %s matches no request", ErrUnexpectedResponse, e.Msg.RootName(), e.InvokeID)
}

// Unwrap returns ErrUnexpectedResponse.
func (e *LateResponse) Unwrap() error { return ErrUnexpectedResponse }

// LateMonitorStart is the monitorCrossRefID of a monitor the switch made
// for a MonitorStart the application gave up on, when err (as OnError
// is told it) is that MonitorStart's late response: an orphan to stop
// (MonitorStop, ECMA-269 §13.1.2).
func LateMonitorStart(err error) (xref string, ok bool) {
	var lr *LateResponse
	if !errors.As(err, &lr) {
		return "", false
	}
	r, isStart := lr.Msg.(*MonitorStartResponse)
	if !isStart || r.MonitorCrossRefID == "" {
		return "", false
	}
	return r.MonitorCrossRefID, true
}

// fail hands err to the call waiting on id, or to OnError.
func (c *Client) fail(id InvokeID, err error) {
	if id != EventInvokeID {
		if ch, ok := c.take(id); ok {
			ch <- result{err: err}
			return
		}
	}
	c.report(err)
}

func (c *Client) report(err error) {
	if c.cfg.OnError != nil {
		c.cfg.OnError(err)
	}
}

func (c *Client) dispatch(id InvokeID, m Message) {
	name := m.RootName()
	switch {
	case isResponse(name):
		if ch, ok := c.take(id); ok {
			ch <- result{m: m}
			return
		}
		c.report(&LateResponse{InvokeID: id, Msg: m})
	case strings.HasSuffix(name, "Event") || id == EventInvokeID && !isSwitchRequest(m):
		if c.cfg.OnEvent != nil {
			c.cfg.OnEvent(m)
		}
	default:
		c.wg.Add(1)
		go c.answer(id, m)
	}
}

// isSwitchRequest reports whether m is a request switches are known to
// send, so it is answered even if it came with invoke ID 9999.
func isSwitchRequest(m Message) bool {
	_, ok := m.(*SystemStatus)
	return ok
}

// answer replies to a request the switch sent.
func (c *Client) answer(id InvokeID, req Message) {
	defer c.wg.Done()
	var resp Message
	if c.cfg.OnRequest != nil {
		resp = c.cfg.OnRequest(c.ctx, req)
	}
	if resp == nil {
		if _, ok := req.(*SystemStatus); ok {
			resp = &SystemStatusResponse{}
		} else {
			resp = &CSTAErrorCode{Category: CategoryOperation, Value: "generic"}
		}
	}
	payload, err := Marshal(resp, c.namespace())
	if err != nil {
		c.report(err)
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.CallTimeout)
	defer cancel()
	if err := c.write(ctx, Frame{InvokeID: id, Payload: payload}); err != nil {
		c.report(err)
	}
}

// shutdown records the first cause, fails every pending call and closes
// the connection. It is safe to call more than once.
func (c *Client) shutdown(cause error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = cause
	pending := c.pending
	c.pending = make(map[InvokeID]chan result)
	c.mu.Unlock()
	for _, ch := range pending {
		ch <- result{err: cause}
	}
	c.cancel()
	close(c.done)
	_ = c.conn.Close()
}

// Close closes the connection, fails calls in flight with ErrClosed and
// waits for the client's goroutines.
func (c *Client) Close() error {
	c.shutdown(ErrClosed)
	c.wg.Wait()
	return nil
}

// Done is closed when the client stops, by Close or because the link
// failed.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the client stopped (wrapping ErrClosed), or nil while it
// runs.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}
