package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
)

// mitelGroupGateway starts the Mitel simulator with devs and the gateway
// with the Mitel driver (source pbx1) monitoring them all, 600 named
// Reception in the driver's directory with category group (a hunt
// group), plus extraYAML; it returns once every lamp is idle and fresh.
func mitelGroupGateway(t *testing.T, devs []string, extraYAML string) (*labmitel.Sim, *gateway) {
	t.Helper()
	sim, err := labmitel.New(labmitel.Config{User: "csta", Password: "secret", Devices: devs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	g := startGateway(t, fmt.Sprintf(`cti:
  drivers:
    - name: pbx1
      driver: mitel
      config:
        address: %q
        user: csta
        password: secret
        directory: [{device: "600", name: Reception, category: group}]
      monitor: [%s]
%s`, sim.Addr(), `"`+strings.Join(devs, `", "`)+`"`, extraYAML))
	g.waitCTI("up", func(d ctiDriver) bool { return d.State == "up" })
	for _, d := range devs {
		g.waitDevice("pbx1:"+d, "idle and fresh", func(d attDevice) bool { return d.Line == "idle" && !d.Stale })
	}
	return sim, g
}

// TestConsoleQueues drives the operator console in headless Chromium
// against the binary, the Mitel driver process and the Mitel simulator's
// hunt group 600 (Reception): the Queues panel lists the calls waiting
// there in order with caller, position and a waiting time that ticks,
// and the count in the queue's header; a call joining shows live over
// the event stream; "Take" on the second call deflects it out of the
// queue to the operator's extension (201 rings, the call is in My calls,
// the queue closes up); the "q" key takes the head of the queue; the
// operator answers it with "a".
func TestConsoleQueues(t *testing.T) {
	t.Parallel()
	sim, g := mitelGroupGateway(t, []string{"201", "202", "203", "600"}, `attendant:
  console_link: {tls: ""}
  operators: [{account: op1, device: "pbx1:201"}]
`)
	code, body := g.apiJSON("POST", "/api/v1/accounts",
		`{"name":"op1","display_name":"Olive Operator","role":"operator","device":"pbx1:201","password":"op1-secret-passphrase"}`)
	if code != http.StatusCreated {
		t.Fatalf("create operator: %d %s", code, body)
	}
	sim.Queue("0301111", "600")
	sim.Queue("0302222", "600")

	b := startBrowser(t)
	consoleLogin(b, g, "pbx1:600")
	queue := `#queues li.queue[data-id="pbx1:600"]`
	b.do("two calls waiting at 600", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(queue+`[data-length="2"]`)))
	if s := b.text(queue + " .q-name"); !strings.Contains(s, "Reception") || !strings.Contains(s, "600") {
		t.Errorf("queue header name %q, want Reception and 600", s)
	}
	if s := b.text(queue + " .q-count"); s != "2 waiting" {
		t.Errorf("queue header count %q, want \"2 waiting\"", s)
	}
	if s := b.text("#queues-count"); s != "2" {
		t.Errorf("queues section count %q, want 2", s)
	}
	order, _ := b.eval(`[...document.querySelectorAll('#queues li.queue[data-id="pbx1:600"] .q-call')].map(li => li.dataset.position + ' ' + li.querySelector('.q-who').textContent).join('|')`)
	if order != "1 0301111|2 0302222" {
		t.Errorf("waiting calls shown %q, want \"1 0301111|2 0302222\"", order)
	}
	// The waiting time ticks without a message from the stream.
	first := b.text(queue + ` .q-call[data-position="1"] .elapsed`)
	waitUntil(t, 15*time.Second, "the waiting time ticks", func() bool {
		s, _ := b.eval(`document.querySelector('#queues li.queue[data-id="pbx1:600"] .q-call[data-position="1"] .elapsed').textContent`)
		return s != first && strings.Contains(s, ":")
	})

	// A third call joins: shown live, last.
	sim.Queue("0303333", "600")
	b.do("a third call shown", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(queue+`[data-length="3"] .q-call[data-position="3"]`)))
	if s := b.text(queue + ` .q-call[data-position="3"] .q-who`); s != "0303333" {
		t.Errorf("third waiting call %q", s)
	}
	b.consoleArtifact("console-queue")

	// Take the second call: it leaves the queue and rings the operator.
	b.do("take the second call", 30*time.Second,
		chromedp.Click(chromedp.CSS(queue+` .q-call[data-position="2"] button`)),
		chromedp.WaitVisible(chromedp.CSS(queue+`[data-length="2"]`)))
	b.waitLamp("pbx1:201", "ringing")
	b.do("the taken call in My calls", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(`#calls .call[data-state="alerting"]`)))
	if s := b.text(`#calls .call .who-line`); !strings.Contains(s, "0302222") {
		t.Errorf("my ringing call shows %q, want the caller 0302222", s)
	}
	order, _ = b.eval(`[...document.querySelectorAll('#queues li.queue[data-id="pbx1:600"] .q-call')].map(li => li.dataset.position + ' ' + li.querySelector('.q-who').textContent).join('|')`)
	if order != "1 0301111|2 0303333" {
		t.Errorf("queue after the take %q, want \"1 0301111|2 0303333\"", order)
	}
	if s := b.text(queue + " .q-count"); s != "2 waiting" {
		t.Errorf("queue header count after the take %q, want \"2 waiting\" (the PBX's count down by the call taken)", s)
	}
	var q struct {
		Queues []struct {
			Queue struct {
				Length int `json:"length"`
				Calls  []struct {
					Calling string `json:"calling"`
				} `json:"calls"`
			} `json:"queue"`
		} `json:"queues"`
	}
	if code, body := g.api("GET", "/api/v1/devices/queues"); code != http.StatusOK || json.Unmarshal(body, &q) != nil ||
		len(q.Queues) != 1 || q.Queues[0].Queue.Length != 2 || q.Queues[0].Queue.Calls[0].Calling != "0301111" {
		t.Fatalf("queues through the API after the take: %d %s", code, body)
	}

	// "q" takes the head of the queue; "a" answers the oldest ringing call.
	b.do("q takes the head of the queue", 30*time.Second,
		chromedp.Click(chromedp.CSS(`#blf .lamp[data-id="pbx1:202"]`)),
		chromedp.KeyEvent("q"),
		chromedp.WaitVisible(chromedp.CSS(queue+`[data-length="1"]`)))
	if s := b.text(queue + ` .q-call[data-position="1"] .q-who`); s != "0303333" {
		t.Errorf("left in the queue %q, want 0303333", s)
	}
	b.do("two calls ring the operator", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(`#calls-count`)))
	waitUntil(t, 20*time.Second, "two calls ringing at 201", func() bool {
		s, _ := b.eval(`String(document.querySelectorAll('#calls .call[data-state="alerting"]').length)`)
		return s == "2"
	})
	b.do("answer with the a key", 20*time.Second,
		chromedp.Click(chromedp.CSS(`#blf .lamp[data-id="pbx1:202"]`)),
		chromedp.KeyEvent("a"),
		chromedp.WaitVisible(chromedp.CSS(`#calls .call[data-state="connected"]`)))
	b.consoleArtifact("console-queue-taken")
	g.requireAlive()
}
