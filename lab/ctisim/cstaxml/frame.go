package cstaxml

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// The CSTA-over-TCP header (ECMA TR/88 §8 as used by MiVO400 and AE
// Services): bytes 0-1 the format indicator 0x0000, bytes 2-3 the total
// length including the header (big-endian), bytes 4-7 the invoke ID as
// four ASCII digits.
const (
	HeaderSize = 8
	// MaxFrameSize is the largest frame the 16-bit length describes.
	MaxFrameSize = 65535
)

// InvokeID is the four-digit invoke ID of a frame.
type InvokeID int

// Invoke IDs with a meaning: 9999 marks an event (unsolicited, no
// response expected); requests use 0001-9998.
const (
	MaxInvokeID   InvokeID = 9998
	EventInvokeID InvokeID = 9999
)

// String is the four ASCII digits of the header.
func (id InvokeID) String() string { return fmt.Sprintf("%04d", int(id)) }

// Errors of the frame reader.
var (
	ErrFrameFormat   = errors.New("cstaxml: frame format indicator is not 0x0000")
	ErrFrameLength   = errors.New("cstaxml: frame length shorter than the header")
	ErrFrameInvokeID = errors.New("cstaxml: invoke ID is not four digits")
	ErrFrameTooLarge = errors.New("cstaxml: frame larger than the limit")
)

// Frame builds one frame. It panics on a payload the length can't
// describe or an invoke ID outside 0000-9999.
func Frame(id InvokeID, payload []byte) []byte {
	if len(payload) > MaxFrameSize-HeaderSize || id < 0 || id > 9999 {
		panic("cstaxml: frame too large or invoke ID out of range")
	}
	b := make([]byte, HeaderSize, HeaderSize+len(payload))
	binary.BigEndian.PutUint16(b[2:4], uint16(HeaderSize+len(payload)))
	copy(b[4:8], id.String())
	return append(b, payload...)
}

// Reader reads frames from a stream.
type Reader struct {
	r   *bufio.Reader
	max int
}

// NewReader reads frames of at most max bytes (MaxFrameSize when max is
// 0 or above it) from r.
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 || max > MaxFrameSize {
		max = MaxFrameSize
	}
	return &Reader{r: bufio.NewReaderSize(r, 4096), max: max}
}

// Read returns the next frame's invoke ID and payload. A frame over the
// limit is skipped whole (the stream stays in step) and reported with
// ErrFrameTooLarge; the other errors leave the stream out of step.
func (r *Reader) Read() (InvokeID, []byte, error) {
	var h [HeaderSize]byte
	if _, err := io.ReadFull(r.r, h[:]); err != nil {
		return 0, nil, err
	}
	if h[0] != 0 || h[1] != 0 {
		return 0, nil, fmt.Errorf("%w: %x", ErrFrameFormat, h[:2])
	}
	total := int(binary.BigEndian.Uint16(h[2:4]))
	if total < HeaderSize {
		return 0, nil, fmt.Errorf("%w: %d", ErrFrameLength, total)
	}
	id, err := strconv.Atoi(string(h[4:8]))
	if err != nil || id < 0 || h[4] < '0' || h[4] > '9' {
		return 0, nil, fmt.Errorf("%w: %q", ErrFrameInvokeID, h[4:8])
	}
	n := total - HeaderSize
	if total > r.max {
		if _, err := r.r.Discard(n); err != nil {
			return 0, nil, err
		}
		return InvokeID(id), nil, fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, total)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r.r, b); err != nil {
		return 0, nil, err
	}
	return InvokeID(id), b, nil
}
