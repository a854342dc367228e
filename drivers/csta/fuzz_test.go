package csta

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.xml")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(billionLaughs))
	f.Add([]byte(`<CSTAErrorCode><operation><x>a</x>b</operation><security/></CSTAErrorCode>`))
	f.Add([]byte(`<x:R xmlns:x="u" xmlns="d" x:a="1" b="&lt;"><x:i/></x:R>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			return
		}
		out, err := Marshal(m, Ed5.Namespace())
		if err != nil {
			t.Fatalf("Marshal(%T) of a decoded message: %v", m, err)
		}
		again, err := Decode(out)
		if err != nil {
			t.Fatalf("re-decode: %v\nin:  %q\nout: %q", err, data, out)
		}
		if _, raw := m.(*RawMessage); raw {
			return
		}
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("round trip changed %T\nin:  %q\nout: %q\n%#v\n%#v", m, data, out, m, again)
		}
	})
}

func FuzzFramer(f *testing.F) {
	f.Add(frameBytes(1, "<A/>"))
	f.Add(append(frameBytes(9999, "<DeliveredEvent/>"), frameBytes(42, "")...))
	f.Add([]byte{0, 0, 0, 7, '0', '0', '0', '1'})
	f.Add([]byte{0, 0, 0xff, 0xff, '1', '2', '3', '4', 'x'})
	f.Add([]byte("\x00\x00\x00\x0aab12zz"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Reading arbitrary bytes ends, never panics, never returns more
		// than the limit.
		fr := NewHeaderFramer(bytes.NewBuffer(data), WithMaxFrameSize(512))
		for range len(data) + 1 {
			got, err := fr.ReadFrame()
			if err != nil {
				if errors.Is(err, ErrFrameTooLarge) {
					continue
				}
				break
			}
			if len(got.Payload)+HeaderSize > 512 || got.InvokeID > EventInvokeID {
				t.Fatalf("frame over limit: %d bytes, ID %d", len(got.Payload), got.InvokeID)
			}
		}
		// Whatever is written reads back the same.
		if len(data) > DefaultMaxFrameSize-HeaderSize {
			return
		}
		var buf bytes.Buffer
		rw := NewHeaderFramer(struct {
			io.Reader
			io.Writer
		}{&buf, &buf})
		id := InvokeID(len(data) % 10000)
		if err := rw.WriteFrame(Frame{InvokeID: id, Payload: data}); err != nil {
			t.Fatal(err)
		}
		back, err := rw.ReadFrame()
		if err != nil || back.InvokeID != id || !bytes.Equal(back.Payload, data) {
			t.Fatalf("round trip: %v %v", back.InvokeID, err)
		}
	})
}
