package b2bua

import "testing"

func TestTransferReason(t *testing.T) {
	tests := []struct {
		code int
		text string
		want string
	}{
		{486, "Busy Here", `SIP;cause=486;text="Busy Here"`},
		{404, "", "SIP;cause=404"},
		{408, `Request "Timeout"`, `SIP;cause=408;text="Request Timeout"`},
		{200, "OK", `SIP;cause=500;text="OK"`}, // not a failure: 500
		{0, "", "SIP;cause=500"},
	}
	for _, tt := range tests {
		if got := transferReason(tt.code, tt.text); got != tt.want {
			t.Errorf("transferReason(%d, %q) = %s, want %s", tt.code, tt.text, got, tt.want)
		}
	}
}

// TestByeInTransfer: while a transfer runs, the transferor's BYE ends its
// leg only (the dialog is forgotten, the call's other leg stays); without
// a transfer, or from the transferee while the transferor is still
// there, the BYE ends the call as usual (false).
func TestByeInTransfer(t *testing.T) {
	b := newTestB2BUA(Options{})
	x := &dialog{callID: "x", localTag: "1", remoteTag: "2"}
	y := &dialog{callID: "y", localTag: "3", remoteTag: "4"}
	c := &call{gw: b, a: x, b: y, done: make(chan struct{})}
	b.addDialogs(c)
	if c.byeInTransfer(x, true) {
		t.Fatal("BYE without a transfer taken by the transfer")
	}
	if !c.beginTransfer(x) || c.beginTransfer(y) {
		t.Fatal("beginTransfer: want one transfer at a time")
	}
	if c.byeInTransfer(y, false) {
		t.Error("the transferee's BYE while the transferor is there taken by the transfer")
	}
	if !c.byeInTransfer(x, true) {
		t.Fatal("the transferor's BYE ended the call")
	}
	if !c.transferorGone(x) || c.transferorGone(y) {
		t.Error("transferorGone: want x only")
	}
	if c.alive(x) || !c.alive(y) {
		t.Errorf("after the transferor's BYE: x alive %v, y alive %v; want false, true", c.alive(x), c.alive(y))
	}
	if got := c.otherLeg(x); got != y {
		t.Errorf("otherLeg(x) = %v, want y", got)
	}
	c.endTransfer()
	if c.transferorGone(x) {
		t.Error("endTransfer kept the transfer")
	}
}
