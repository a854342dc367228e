package csta

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

func frameBytes(id InvokeID, payload string) []byte {
	var b bytes.Buffer
	f := NewHeaderFramer(struct {
		io.Reader
		io.Writer
	}{nil, &b})
	if err := f.WriteFrame(Frame{InvokeID: id, Payload: []byte(payload)}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func TestWriteFrameHeader(t *testing.T) {
	got := frameBytes(42, "<A/>")
	want := []byte{0, 0, 0, 12, '0', '0', '4', '2', '<', 'A', '/', '>'}
	if !bytes.Equal(got, want) {
		t.Fatalf("got % x, want % x", got, want)
	}
	if got := frameBytes(EventInvokeID, ""); string(got[4:]) != "9999" || got[3] != 8 {
		t.Fatalf("event header % x", got)
	}
}

func TestReadFrameErrors(t *testing.T) {
	good := frameBytes(7, "<A/>")
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty is EOF", nil, io.EOF},
		{"short header", good[:5], ErrTruncated},
		{"short body", good[:10], ErrTruncated},
		{"format indicator", append([]byte{0, 1}, good[2:]...), ErrBadFormat},
		{"length below header", []byte{0, 0, 0, 7, '0', '0', '0', '1'}, ErrBadLength},
		{"length zero", []byte{0, 0, 0, 0, '0', '0', '0', '1'}, ErrBadLength},
		{"non-digit invoke ID", []byte{0, 0, 0, 8, '0', '0', 'x', '1'}, ErrBadInvokeID},
		{"space in invoke ID", []byte{0, 0, 0, 8, ' ', '0', '0', '1'}, ErrBadInvokeID},
		{"garbage", []byte("GET / HTTP/1.1\r\n\r\n"), ErrBadFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewHeaderFramer(bytes.NewBuffer(tc.in)).ReadFrame()
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestReadFrameTooLargeSkips(t *testing.T) {
	big := frameBytes(1, strings.Repeat("x", 200))
	next := frameBytes(2, "<B/>")
	f := NewHeaderFramer(bytes.NewBuffer(append(big, next...)), WithMaxFrameSize(100))
	fr, err := f.ReadFrame()
	if !errors.Is(err, ErrFrameTooLarge) || fr.InvokeID != 1 {
		t.Fatalf("got %v %v", fr.InvokeID, err)
	}
	fr, err = f.ReadFrame()
	if err != nil || fr.InvokeID != 2 || string(fr.Payload) != "<B/>" {
		t.Fatalf("after skip: %v %q %v", fr.InvokeID, fr.Payload, err)
	}
	if err := f.WriteFrame(Frame{InvokeID: 3, Payload: make([]byte, 93)}); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("write too large: %v", err)
	}
	if err := f.WriteFrame(Frame{InvokeID: 10000}); !errors.Is(err, ErrBadInvokeID) {
		t.Fatalf("write bad ID: %v", err)
	}
}

// TestReadFrameSplitMerged feeds three frames as one byte at a time
// (split reads) and as one buffer (merged reads).
func TestReadFrameSplitMerged(t *testing.T) {
	var all []byte
	payloads := []string{"<A/>", "", "<DeliveredEvent>" + strings.Repeat("é", 1000) + "</DeliveredEvent>"}
	for i, p := range payloads {
		all = append(all, frameBytes(InvokeID(i+1), p)...)
	}
	for name, r := range map[string]io.Reader{
		"one byte":   iotest.OneByteReader(bytes.NewReader(all)),
		"half":       iotest.HalfReader(bytes.NewReader(all)),
		"merged":     bytes.NewReader(all),
		"data + EOF": iotest.DataErrReader(bytes.NewReader(all)),
	} {
		t.Run(name, func(t *testing.T) {
			f := NewHeaderFramer(struct {
				io.Reader
				io.Writer
			}{r, io.Discard})
			for i, p := range payloads {
				fr, err := f.ReadFrame()
				if err != nil || fr.InvokeID != InvokeID(i+1) || string(fr.Payload) != p {
					t.Fatalf("frame %d: %v %v %q", i, err, fr.InvokeID, fr.Payload)
				}
			}
			if _, err := f.ReadFrame(); err != io.EOF {
				t.Fatalf("end: %v", err)
			}
		})
	}
}

// TestFramerTCP writes frames from many goroutines over TCP loopback and
// checks that none interleave.
func TestFramerTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const writers, each = 8, 200
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		f := NewHeaderFramer(c)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					p := strings.Repeat(string(rune('a'+w)), 1+i*7%3000)
					if err := f.WriteFrame(Frame{InvokeID: InvokeID(w*1000 + i%1000), Payload: []byte(p)}); err != nil {
						return
					}
				}
			}()
		}
		wg.Wait()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	f := NewHeaderFramer(c)
	for n := 0; n < writers*each; n++ {
		fr, err := f.ReadFrame()
		if err != nil {
			t.Fatalf("frame %d: %v", n, err)
		}
		w := int(fr.InvokeID) / 1000
		if len(fr.Payload) == 0 || strings.Trim(string(fr.Payload), string(rune('a'+w))) != "" {
			t.Fatalf("frame %d from writer %d interleaved: %.40q", n, w, fr.Payload)
		}
	}
}
