package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// shiftDrop drags the connected call card onto lamp with Shift held, as
// the browser would dispatch it (dragstart on the card, dragenter,
// dragover and drop on the lamp, dragend): chromedp's own drag carries
// no modifier keys, so the events are dispatched from the page with one
// DataTransfer, the drop with shiftKey set.
const shiftDrop = `((lamp, shift) => {
	const src = document.querySelector('#calls .call[data-state="connected"]');
	const dst = document.querySelector('#blf .lamp[data-id="' + lamp + '"]');
	if (!src || !dst) return 'missing ' + (!src ? 'call card' : 'lamp');
	const dt = new DataTransfer();
	const ev = (type, target, extra) => target.dispatchEvent(new DragEvent(type,
		Object.assign({ bubbles: true, cancelable: true, composed: true, dataTransfer: dt }, extra || {})));
	ev('dragstart', src);
	ev('dragenter', dst, { shiftKey: shift });
	ev('dragover', dst, { shiftKey: shift });
	ev('drop', dst, { shiftKey: shift });
	ev('dragend', src);
	return 'ok';
})`

// TestConsoleShiftDropConsult: the operator drags the answered call onto
// lamp 403 holding Shift: a consultation call, not a blind transfer — the
// caller is held at the operator's phone, 403 rings and the consult bar
// shows; 403 answers and Complete transfer joins 401 and 403, freeing
// the operator.
func TestConsoleShiftDropConsult(t *testing.T) {
	t.Parallel()
	g := ciscoGateway(t, "  operators: [{account: op1, device: \"cisco1:402\"}]\n")
	consoleOperator(t, g)
	b := startBrowser(t)
	consoleLogin(b, g, "cisco1:403")
	if code, body := g.apiJSON("POST", "/api/v1/calls", `{"from":"cisco1:401","to":"402"}`); code != http.StatusCreated {
		t.Fatalf("make call: %d %s", code, body)
	}
	b.do("answer", 20*time.Second,
		chromedp.Click(chromedp.CSS(`#calls .call[data-state="alerting"] button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`#calls .call[data-state="connected"]`)))
	if s, err := b.eval(shiftDrop + `("cisco1:403", true)`); err != nil || s != "ok" {
		t.Fatalf("shift-drop: %q %v", s, err)
	}
	b.do("consult bar", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(`#consult-bar`)))
	if s := b.text("#consult-text"); s != "Consulting 403" {
		t.Errorf("consult bar says %q", s)
	}
	b.waitLamp("cisco1:403", "ringing")
	// A consultation: the operator's phone holds the caller and dials 403
	// (a blind transfer would have left it idle).
	op := g.waitDevice("cisco1:402", "holding 401 and consulting 403", func(d attDevice) bool { return len(d.Calls) == 2 })
	held := 0
	for _, c := range op.Calls {
		if c.State == "hold" {
			held++
		}
	}
	if held != 1 {
		t.Fatalf("operator's calls after the shift-drop %+v: want one held", op.Calls)
	}
	b.consoleArtifact("console-shift-drop")
	d := g.waitDevice("cisco1:403", "ringing", func(d attDevice) bool { return len(d.Calls) > 0 })
	if code, body := g.apiJSON("POST", "/api/v1/calls/"+d.Calls[0].CallID+"/answer", `{"device":"cisco1:403"}`); code != http.StatusNoContent {
		t.Fatalf("403 answers: %d %s", code, body)
	}
	b.waitLamp("cisco1:403", "busy")
	b.do("complete transfer", 20*time.Second,
		chromedp.Click(chromedp.CSS(`#complete-btn`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#consult-bar`)))
	b.waitLamp("cisco1:402", "idle")
	b.waitLamp("cisco1:401", "busy")
	b.waitLamp("cisco1:403", "busy")
	g.waitDevice("cisco1:402", "free after the transfer", func(d attDevice) bool { return d.Line == "idle" })
}

// TestConsoleOperatorStatePushed: a supervisor (here the admin) pauses
// the operator through the API; the operator's open console shows it at
// once, without a reload, and says who did it; resuming is shown the
// same way.
func TestConsoleOperatorStatePushed(t *testing.T) {
	t.Parallel()
	g := ciscoGateway(t, "  operators: [{account: op1, device: \"cisco1:402\"}]\n")
	consoleOperator(t, g)
	b := startBrowser(t)
	consoleLogin(b, g, "cisco1:403")
	b.do("available", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(`#op-state[data-state="available"]`)))
	if code, body := g.apiJSON("PUT", "/api/v1/operators/op1/state", `{"state":"paused"}`); code != http.StatusOK {
		t.Fatalf("pause op1: %d %s", code, body)
	}
	b.do("paused by the supervisor", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`#op-state[data-state="paused"]`)))
	if s := b.text("#pause-btn"); s != "Resume" {
		t.Errorf("pause button says %q after the push, want Resume", s)
	}
	// The operator's own lamp (402) says paused for colleagues too.
	b.do("lamp says paused", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`#blf .lamp[data-id="cisco1:402"][aria-label*="paused"]`)))
	b.consoleArtifact("console-paused-by-supervisor")
	if code, body := g.apiJSON("PUT", "/api/v1/operators/op1/state", `{"state":"available"}`); code != http.StatusOK {
		t.Fatalf("resume op1: %d %s", code, body)
	}
	b.do("available again", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`#op-state[data-state="available"]`)))
	if s := b.attr(`#blf .lamp[data-id="cisco1:402"]`, "aria-label"); strings.Contains(s, "paused") {
		t.Errorf("lamp 402 still says %q", s)
	}
}
