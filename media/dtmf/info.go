package dtmf

import (
	"mime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxInfoBody is the largest INFO body ParseInfo reads: a DTMF body is a
// few dozen bytes.
const MaxInfoBody = 1024

// IsInfoType reports whether contentType is a DTMF INFO body's type:
// application/dtmf-relay (the de facto format of Cisco and most phones:
// "Signal=5\r\nDuration=160") or application/dtmf (a bare digit).
func IsInfoType(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/dtmf-relay" || mt == "application/dtmf")
}

// ParseInfo reads the event in the body of a SIP INFO with contentType
// (RFC 6086 carries it; the body formats are those of IsInfoType):
//
//	application/dtmf-relay: lines "Signal=<c>" and "Duration=<ms>"
//	application/dtmf:       the character alone
//
// A missing or unreadable Duration gives DefaultDuration; Plan holds the
// duration within its limits. It returns ErrNotDTMF for another type and
// ErrBadSignal when the body names no event.
func ParseInfo(contentType string, body []byte) (Event, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || (mt != "application/dtmf-relay" && mt != "application/dtmf") {
		return Event{}, ErrNotDTMF
	}
	if len(body) > MaxInfoBody || !utf8.Valid(body) {
		return Event{}, ErrBadSignal
	}
	if mt == "application/dtmf" {
		s := strings.TrimSpace(string(body))
		if utf8.RuneCountInString(s) != 1 {
			return Event{}, ErrBadSignal
		}
		r, _ := utf8.DecodeRuneInString(s)
		c, ok := Code(r)
		if !ok {
			return Event{}, ErrBadSignal
		}
		return Event{Code: c, Duration: DefaultDuration}, nil
	}
	ev := Event{Duration: DefaultDuration}
	signal := false
	for _, line := range strings.FieldsFunc(string(body), func(r rune) bool { return r == '\n' || r == '\r' }) {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case strings.EqualFold(k, "Signal"):
			if signal {
				return Event{}, ErrBadSignal // two signals: which one?
			}
			c, ok := signalCode(v)
			if !ok {
				return Event{}, ErrBadSignal
			}
			ev.Code, signal = c, true
		case strings.EqualFold(k, "Duration"):
			if ms, err := strconv.ParseUint(v, 10, 32); err == nil && ms > 0 {
				ev.Duration = time.Duration(min(ms, uint64(MaxDuration/time.Millisecond))) * time.Millisecond
			}
		}
	}
	if !signal {
		return Event{}, ErrBadSignal
	}
	return ev, nil
}

// signalCode reads a Signal value: one DTMF character, or the event code
// in decimal (some phones write Signal=10 for '*', Signal=16 for flash).
func signalCode(v string) (uint8, bool) {
	if utf8.RuneCountInString(v) == 1 {
		r, _ := utf8.DecodeRuneInString(v)
		return Code(r)
	}
	n, err := strconv.ParseUint(v, 10, 8)
	if err != nil || n > 16 {
		return 0, false
	}
	return uint8(n), true
}
