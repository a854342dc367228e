package b2bua

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestCheckSeq: CSeq numbers from one far end must grow (RFC 3261
// §12.2.2); the ACK reuses the INVITE's.
func TestCheckSeq(t *testing.T) {
	var e established
	d1, d2 := &dialog{}, &dialog{}
	steps := []struct {
		d      *dialog
		seq    uint32
		method sip.RequestMethod
		ok     bool
	}{
		{d1, 5, sip.INVITE, true},
		{d1, 5, sip.ACK, true},
		{d1, 6, sip.INFO, true},
		{d1, 6, sip.UPDATE, false},
		{d1, 4, sip.INFO, false},
		{d2, 1, sip.INFO, true}, // each dialog has its own sequence
		{d1, 9, sip.INFO, true}, // gaps are fine
	}
	for i, s := range steps {
		if got := e.checkSeq(s.d, s.seq, s.method); got != s.ok {
			t.Errorf("step %d (%d %s): %v, want %v", i, s.seq, s.method, got, s.ok)
		}
	}
}

// TestBeginGlare: one offer/answer exchange at a time per call (RFC 3261
// §14.1), none before the answer.
func TestBeginGlare(t *testing.T) {
	var e established
	if e.begin() {
		t.Fatal("begin before the call is up")
	}
	e.up = true
	if !e.begin() {
		t.Fatal("first begin refused")
	}
	if e.begin() {
		t.Fatal("second begin accepted: want 491")
	}
	e.finish()
	if !e.begin() {
		t.Fatal("begin after finish refused")
	}
}

func TestHasOption(t *testing.T) {
	req := inviteWith("Supported", "100rel, Timer", "Allow", "INVITE,ACK, UPDATE")
	if !hasOption(req, "Supported", "timer") || hasOption(req, "Supported", "replaces") {
		t.Error("Supported")
	}
	if !allows(req, sip.UPDATE) || allows(req, sip.REFER) {
		t.Error("Allow")
	}
}

// TestBeginAnswered: a request crossing the call's 2xx waits for the call
// to be up; one during an exchange under way does not wait (491).
func TestBeginAnswered(t *testing.T) {
	var e established
	go func() {
		time.Sleep(50 * time.Millisecond)
		e.mu.Lock()
		e.up = true
		e.mu.Unlock()
	}()
	if !e.beginAnswered(5 * time.Second) {
		t.Fatal("refused while the call came up")
	}
	if e.beginAnswered(5 * time.Second) {
		t.Fatal("second exchange accepted: want 491")
	}
	e.finish()
	var never established
	if never.beginAnswered(20 * time.Millisecond) {
		t.Fatal("accepted on a call that never came up")
	}
}
