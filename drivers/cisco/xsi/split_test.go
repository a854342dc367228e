package xsi

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestSplitter(t *testing.T) {
	stream := `<?xml version="1.0" encoding="UTF-8"?>
<Channel xmlns="http://schema.broadsoft.com/xsi"><channelId>c1</channelId></Channel>` +
		`<?xml version="1.0" encoding="UTF-8"?><ChannelHeartBeat xmlns="http://schema.broadsoft.com/xsi"/>` +
		`<?xml version="1.0"?><a x="q>'" y='"/>'><!-- <b> --><![CDATA[</a>]]><c/></a>` +
		"\r\n junk " +
		`<?xml version="1.0"?><cut><x>` +
		`<?xml version="1.0"?><d/>` +
		`<!DOCTYPE e [<!ENTITY a "x">]><e>&a;</e>` +
		`</stray>`
	s := NewSplitter(strings.NewReader(stream), 0)
	type res struct {
		doc string
		err error
	}
	var got []res
	for {
		d, err := s.Next()
		if err == io.EOF {
			break
		}
		got = append(got, res{string(d), err})
		if err != nil && !errors.Is(err, ErrGarbage) {
			break
		}
	}
	want := []res{
		{`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<Channel xmlns="http://schema.broadsoft.com/xsi"><channelId>c1</channelId></Channel>`, nil},
		{`<?xml version="1.0" encoding="UTF-8"?><ChannelHeartBeat xmlns="http://schema.broadsoft.com/xsi"/>`, nil},
		{`<?xml version="1.0"?><a x="q>'" y='"/>'><!-- <b> --><![CDATA[</a>]]><c/></a>`, nil},
		{"", ErrGarbage},
		{"", ErrGarbage},
		{`<?xml version="1.0"?><d/>`, nil},
		{`<!DOCTYPE e [<!ENTITY a "x">]><e>&a;</e>`, nil},
		{"", ErrGarbage},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results %v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i].doc != want[i].doc || !errors.Is(got[i].err, want[i].err) && (got[i].err != nil || want[i].err != nil) {
			t.Errorf("%d: got %q %v, want %q %v", i, got[i].doc, got[i].err, want[i].doc, want[i].err)
		}
	}
	if _, err := Decode([]byte(want[6].doc)); !errors.Is(err, ErrDTD) {
		t.Errorf("doctype: %v", err)
	}
}

func TestSplitterLimit(t *testing.T) {
	s := NewSplitter(strings.NewReader("<a>"+strings.Repeat("x", 100)+"</a><b/>"), 50)
	if _, err := s.Next(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversize: %v", err)
	}
	s = NewSplitter(strings.NewReader("<a><b>"), 50)
	if _, err := s.Next(); err != io.ErrUnexpectedEOF {
		t.Fatalf("cut stream: %v", err)
	}
}
