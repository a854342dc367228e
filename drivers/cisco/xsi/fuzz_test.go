package xsi

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func seeds(f *testing.F) {
	files, _ := filepath.Glob("../testdata/*.xml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`))
	f.Add([]byte(`<?xml version="1.0"?><xsi:Event xmlns:xsi="x"><xsi:eventID>`))
}

// FuzzDecode feeds the event channel decoder arbitrary documents: it must
// not panic, and an event it accepts must encode and decode to itself.
func FuzzDecode(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrDTD) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrDTD", err)
			}
			return
		}
		if doc.Event == nil {
			return
		}
		out, err := Marshal(doc.Event)
		if err != nil {
			return // e.g. text XML can't carry
		}
		again, err := DecodeEvent(out)
		if err != nil {
			t.Fatalf("re-decode of %q: %v", out, err)
		}
		if again.Type != doc.Event.Type || again.EventID != doc.Event.EventID {
			t.Fatalf("round trip changed the event: %+v → %+v", doc.Event, again)
		}
	})
}

// FuzzSplitter feeds the channel splitter arbitrary streams: it must not
// panic or loop, and every document it returns fits the limit.
func FuzzSplitter(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		stream := append(append(bytes.Clone(b), b...), '<', 'a', '/', '>')
		s := NewSplitter(bytes.NewReader(stream), 4096)
		for range len(stream) + 2 {
			doc, err := s.Next()
			if errors.Is(err, ErrGarbage) {
				continue
			}
			if err != nil {
				if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("error %v", err)
				}
				return
			}
			if len(doc) > 4096 {
				t.Fatalf("document of %d bytes", len(doc))
			}
		}
		t.Fatalf("splitter did not finish %d bytes", len(stream))
	})
}
