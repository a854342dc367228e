package b2bua

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/media/relay"
)

const bodySDP = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"

// TestSDPBody: the SDP of an INVITE or ACK body (RFC 5621 multipart), a
// late offer's empty body, and 415 for the rest.
func TestSDPBody(t *testing.T) {
	mixed := "--b1\r\nContent-Type: application/ISUP;version=itu-t92+\r\nContent-Disposition: signal;handling=optional\r\n\r\n\x01\x02\x03" +
		"\r\n--b1\r\nContent-Type: application/sdp\r\n\r\n" + bodySDP + "\r\n--b1--\r\n"
	tests := []struct {
		name, ctype, body string
		want              string // the SDP returned
		err               error
	}{
		{"sdp", "application/sdp", bodySDP, bodySDP, nil},
		{"sdp with parameters and case", "Application/SDP; charset=utf-8", bodySDP, bodySDP, nil},
		{"no content-type", "", bodySDP, bodySDP, nil},
		{"late offer", "", "", "", nil},
		{"late offer with content-type", "application/sdp", "", "", nil},
		{"multipart/mixed sdp after isup", "multipart/mixed; boundary=b1", mixed, bodySDP, nil},
		{"multipart/alternative", `multipart/alternative;boundary="b1"`, mixed, bodySDP, nil},
		{"multipart without sdp", "multipart/mixed;boundary=b1", "--b1\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b1--\r\n", "", ErrUnsupportedBody},
		{"multipart without boundary", "multipart/mixed", mixed, "", ErrUnsupportedBody},
		{"multipart, wrong boundary", "multipart/mixed;boundary=zz", mixed, "", ErrUnsupportedBody},
		{"text/plain", "text/plain", "hello", "", ErrUnsupportedBody},
		{"bad content-type", "application/", bodySDP, "", ErrUnsupportedBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "2000", Host: "example.com"})
			if tt.ctype != "" {
				req.AppendHeader(sip.NewHeader("Content-Type", tt.ctype))
			}
			if tt.body != "" {
				req.SetBody([]byte(tt.body))
			}
			got, err := sdpBody(req)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if strings.TrimRight(string(got), "\r\n") != strings.TrimRight(tt.want, "\r\n") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestClassifyOffer: what the offer/answer errors of issue 11 answer.
func TestClassifyOffer(t *testing.T) {
	o := classify(fmt.Errorf("relay session: %w", relay.ErrPortsExhausted))
	if o.Status != 503 || o.RetryAfter == "" || o.Cause != CauseMedia {
		t.Errorf("ports exhausted: %+v, want 503 with Retry-After", o)
	}
	o = classify(fmt.Errorf("%w: text/plain", ErrUnsupportedBody))
	if o.Status != 415 || !strings.Contains(o.Accept, "application/sdp") {
		t.Errorf("unsupported body: %+v, want 415 with Accept", o)
	}
	o = classify(errNoAckAnswer)
	if o.Cause != CauseMedia {
		t.Errorf("no answer in the ACK: %+v, want cause media_error", o)
	}
}

func FuzzSDPBody(f *testing.F) {
	f.Add("multipart/mixed;boundary=b1", "--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--b1--\r\n")
	f.Add("application/sdp", "v=0\r\n")
	f.Add("text/plain", "x")
	f.Fuzz(func(t *testing.T, ctype, body string) {
		req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", Host: "example.com"})
		req.AppendHeader(sip.NewHeader("Content-Type", ctype))
		req.SetBody([]byte(body))
		got, err := sdpBody(req)
		if err != nil && !errors.Is(err, ErrUnsupportedBody) {
			t.Fatalf("error not ErrUnsupportedBody: %v", err)
		}
		if err == nil && !strings.Contains(body, string(got)) {
			t.Fatalf("SDP %q is no part of the body %q", got, body)
		}
		// The same body as the SDP part of a multipart body (RFC 5621)
		// reads back whole, whatever part comes before it. (Parts are
		// read up to 64 KiB, the most media/sdp takes.)
		const bnd = "sb-fuzz-boundary"
		if body == "" || strings.Contains(body+ctype, bnd) || len(body) > 64<<10 {
			return
		}
		mp := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", Host: "example.com"})
		mp.AppendHeader(sip.NewHeader("Content-Type", "multipart/mixed; boundary="+bnd))
		mp.SetBody([]byte("--" + bnd + "\r\nContent-Type: application/isup\r\n\r\n" + ctype + "\r\n--" + bnd +
			"\r\nContent-Type: application/sdp\r\n\r\n" + body + "\r\n--" + bnd + "--\r\n"))
		if got, err := sdpBody(mp); err != nil || string(got) != body {
			t.Fatalf("SDP part %q read as %q, %v", body, got, err)
		}
	})
}
