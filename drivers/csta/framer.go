package csta

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// InvokeID ties a response to its request. Requests use 1-9998; events are
// sent with EventInvokeID. On the wire it is four ASCII digits.
type InvokeID uint16

// Invoke ID ranges (cti-protocols.md §2.1).
const (
	// MinInvokeID is the first invoke ID a client uses for requests.
	MinInvokeID InvokeID = 1
	// MaxInvokeID is the last one; allocation wraps to MinInvokeID after it.
	MaxInvokeID InvokeID = 9998
	// EventInvokeID is the invoke ID switches put on events.
	EventInvokeID InvokeID = 9999
)

// String returns the four-digit wire form, "0042".
func (id InvokeID) String() string { return fmt.Sprintf("%04d", uint16(id)) }

// Frame is one CSTA message as carried by a Framer: the invoke ID and the
// XML document.
type Frame struct {
	InvokeID InvokeID
	Payload  []byte
}

// Framer reads and writes whole frames on a byte stream. Implementations
// must allow one reader and any number of concurrent writers; each
// WriteFrame is written in one piece so frames never interleave.
//
// HeaderFramer is the 8-byte header variant used by Mitel 400, Unify and
// Avaya DMCC. Other variants (NUL-terminated XML without a header, uaCSTA in
// SIP INFO) can be added as further Framers without touching the client.
type Framer interface {
	// ReadFrame returns the next frame. Errors wrapping ErrFrameTooLarge
	// leave the stream in step; other errors end the stream.
	ReadFrame() (Frame, error)
	// WriteFrame writes f atomically.
	WriteFrame(f Frame) error
}

// HeaderSize is the size of the CSTA-over-TCP header.
const HeaderSize = 8

// DefaultMaxFrameSize is the largest frame the 16-bit length field can
// describe, header included.
const DefaultMaxFrameSize = 65535

// HeaderFramer implements the CSTA-over-TCP framing of ECMA-323 XML without
// SOAP: bytes 0-1 format indicator 0x0000, bytes 2-3 the total length
// including the header (big-endian), bytes 4-7 the invoke ID as four ASCII
// digits, then the XML document.
type HeaderFramer struct {
	r    *bufio.Reader
	w    io.Writer
	max  int
	rbuf [HeaderSize]byte
	wmu  sync.Mutex
	wbuf []byte
}

// FramerOption configures a HeaderFramer.
type FramerOption func(*HeaderFramer)

// WithMaxFrameSize limits the frames read and written, header included.
// Values below HeaderSize or above DefaultMaxFrameSize are clamped.
// Default: DefaultMaxFrameSize.
func WithMaxFrameSize(n int) FramerOption {
	return func(f *HeaderFramer) {
		f.max = min(max(n, HeaderSize), DefaultMaxFrameSize)
	}
}

// NewHeaderFramer returns a HeaderFramer reading and writing rw, typically a
// net.Conn or *tls.Conn.
func NewHeaderFramer(rw io.ReadWriter, opts ...FramerOption) *HeaderFramer {
	f := &HeaderFramer{r: bufio.NewReaderSize(rw, 4096), w: rw, max: DefaultMaxFrameSize}
	for _, o := range opts {
		o(f)
	}
	return f
}

// ReadFrame reads one frame. TCP may split a frame over several reads or
// merge several frames into one; both are handled. The returned payload is
// a fresh slice owned by the caller.
func (f *HeaderFramer) ReadFrame() (Frame, error) {
	h := f.rbuf[:]
	if n, err := io.ReadFull(f.r, h); err != nil {
		if n > 0 && errors.Is(err, io.ErrUnexpectedEOF) {
			return Frame{}, fmt.Errorf("%w: %d of %d header bytes", ErrTruncated, n, HeaderSize)
		}
		return Frame{}, err // io.EOF between frames is a clean end.
	}
	if h[0] != 0 || h[1] != 0 {
		return Frame{}, fmt.Errorf("%w: 0x%02x%02x (the header's 8 bytes: %q)", ErrBadFormat, h[0], h[1], h)
	}
	total := int(binary.BigEndian.Uint16(h[2:4]))
	if total < HeaderSize {
		return Frame{}, fmt.Errorf("%w: %d", ErrBadLength, total)
	}
	id, err := parseInvokeID(h[4:8])
	if err != nil {
		return Frame{}, err
	}
	n := total - HeaderSize
	if total > f.max {
		// Skip the body: the stream stays in step, the caller decides.
		if _, err := f.r.Discard(n); err != nil {
			return Frame{}, fmt.Errorf("%w: %v", ErrTruncated, err)
		}
		return Frame{InvokeID: id}, fmt.Errorf("%w: %d bytes, limit %d (invoke ID %s)", ErrFrameTooLarge, total, f.max, id)
	}
	p := make([]byte, n)
	if got, err := io.ReadFull(f.r, p); err != nil {
		return Frame{}, fmt.Errorf("%w: %d of %d body bytes (invoke ID %s): %v", ErrTruncated, got, n, id, err)
	}
	return Frame{InvokeID: id, Payload: p}, nil
}

func parseInvokeID(b []byte) (InvokeID, error) {
	var v uint16
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: %q", ErrBadInvokeID, b)
		}
		v = v*10 + uint16(c-'0')
	}
	return InvokeID(v), nil
}

// WriteFrame writes the header and payload with one Write call, so
// concurrent writers never interleave.
func (f *HeaderFramer) WriteFrame(fr Frame) error {
	if fr.InvokeID > EventInvokeID {
		return fmt.Errorf("%w: %d", ErrBadInvokeID, fr.InvokeID)
	}
	total := HeaderSize + len(fr.Payload)
	if total > f.max {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, total, f.max)
	}
	f.wmu.Lock()
	defer f.wmu.Unlock()
	b := f.wbuf[:0]
	b = append(b, 0, 0, byte(total>>8), byte(total))
	id := uint16(fr.InvokeID)
	b = append(b, byte('0'+id/1000), byte('0'+id/100%10), byte('0'+id/10%10), byte('0'+id%10))
	b = append(b, fr.Payload...)
	if cap(b) <= 16<<10 {
		f.wbuf = b // keep small buffers, let big ones go
	}
	_, err := f.w.Write(b)
	return err
}

// Interface guards.
var _ Framer = (*HeaderFramer)(nil)
