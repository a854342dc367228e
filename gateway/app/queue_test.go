package app

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/opqueue"
)

// queueUsers are the gateway users of the queue tests (runApp has u1000,
// the caller): three operators' phones and the overflow target.
const queueUsers = `  - {username: u1001, password: secret, extension: "1001"}
  - {username: u1002, password: secret, extension: "1002"}
  - {username: u1003, password: secret, extension: "1003"}
  - {username: u2000, password: secret, extension: "2000"}
`

type queuesAnswer struct {
	Queues []queueView `json:"queues"`
}

func getQueues(t *testing.T, c *http.Client, base, cookie string, basic [2]string) queuesAnswer {
	t.Helper()
	r := do(t, c, base, call{method: "GET", path: "/api/v1/queues", cookie: cookie, basic: basic})
	want(t, "GET queues", r, http.StatusOK)
	var q queuesAnswer
	r.json(t, &q)
	return q
}

func isInvite(m *phoneMsg) bool {
	return m.method == "INVITE" && !strings.Contains(m.get("To"), "tag=")
}

// TestQueueRingsAvailableOperators: a call to the queue 9000 rings the
// phones of the group's available, logged-in operators only (a paused
// one never rings); the queue API lists the waiting call with its wait
// and the operators ringing; the first to answer gets the call and the
// other phone gets CANCEL; the event stream tells joined and answered.
func TestQueueRingsAvailableOperators(t *testing.T) {
	a := runApp(t, queueUsers+`attendant:
  console_link: {tls: ""}
  queues: [{number: "9000", group: operators, ring: 20s, overflow_after: 60s, overflow_to: "2000"}]
`, cheapAccounts(t, nil))
	base := "https://" + a.AdminAddr()
	c := clientFrom("127.0.0.1")
	mkOperator(t, a, c, base, "olga", "gateway:u1001", "operators")
	mkOperator(t, a, c, base, "oscar", "gateway:u1003", "operators")
	paul := mkOperator(t, a, c, base, "paul", "gateway:u1002", "operators")
	gina := mkOperator(t, a, c, base, "gina", "gateway:u2000", "sales")
	olga, _ := login(t, c, base, "olga", "olga-password")
	login(t, c, base, "oscar", "oscar-password")
	login(t, c, base, "paul", "paul-password")
	want(t, "paul pauses", do(t, c, base, call{method: "PUT", path: "/api/v1/operators/me/state", basic: paul,
		body: map[string]string{"state": "paused"}}), http.StatusOK)

	conn, br := wsDial(t, a, a.AdminAddr(), "")
	if m, _ := readMsg(t, conn, br); m.Type != "snapshot" {
		t.Fatalf("first message %q", m.Type)
	}

	caller := newTestPhone(t, a, "u1000", 0)
	pOlga := newTestPhone(t, a, "u1001", 3*time.Second) // answers after 3 s of ringing
	pPaul := newTestPhone(t, a, "u1002", 50*time.Millisecond)
	pOscar := newTestPhone(t, a, "u1003", 0) // rings until cancelled
	type result struct {
		pc *phoneCall
		st int
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() { pc, st := caller.call("9000"); done <- result{pc, st} }()

	pOlga.wait("INVITE at olga's phone", isInvite)
	pOscar.wait("INVITE at oscar's phone", isInvite)
	caller.wait("ringing at the caller", func(m *phoneMsg) bool { return m.status == 180 })

	// The queue as olga sees it: the call waits, first in line, ringing
	// olga and oscar.
	time.Sleep(time.Second)
	q := getQueues(t, c, base, olga, [2]string{})
	if len(q.Queues) != 1 || q.Queues[0].Number != "9000" || len(q.Queues[0].Waiting) != 1 {
		t.Fatalf("queues %+v", q)
	}
	wc := q.Queues[0].Waiting[0]
	slices.Sort(wc.Ringing)
	if !strings.HasPrefix(wc.ID, "gateway:") || wc.Caller != "u1000" || wc.Position != 1 || wc.Wait < 0.5 ||
		!slices.Equal(wc.Ringing, []string{"olga", "oscar"}) {
		t.Fatalf("waiting call %+v", wc)
	}
	t.Logf("waiting call %+v", wc)
	// Another group's operator does not see the queue; no credentials 401.
	if q := getQueues(t, c, base, "", gina); len(q.Queues) != 0 {
		t.Fatalf("sales operator sees %+v", q)
	}
	want(t, "queues without credentials", do(t, c, base, call{method: "GET", path: "/api/v1/queues"}), http.StatusUnauthorized)

	var res result
	select {
	case res = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the queued call was not answered")
	}
	if res.st != 200 {
		t.Fatalf("queued call: %d", res.st)
	}
	t.Logf("answered %v after the call", time.Since(start))
	cancel := pOscar.wait("CANCEL at oscar's phone", isReq("CANCEL"))
	if !strings.Contains(cancel.get("Reason"), "cause=200") {
		t.Errorf("oscar's CANCEL Reason %q: want completed elsewhere", cancel.get("Reason"))
	}
	if pPaul.seen(isReq("INVITE")) {
		t.Error("the paused operator's phone rang")
	}
	if pOlga.seen(isReq("CANCEL")) {
		t.Error("the answering operator got CANCEL")
	}
	if q := getQueues(t, c, base, olga, [2]string{}); len(q.Queues[0].Waiting) != 0 {
		t.Fatalf("answered call still waiting: %+v", q)
	}
	// The stream: joined, then answered by olga.
	var seen []string
	for len(seen) < 2 {
		m, _ := readMsg(t, conn, br)
		if m.Type != "queue" {
			continue
		}
		var ev opqueue.Event
		if err := json.Unmarshal(m.Queue, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Queue != "9000" || ev.Call != wc.ID {
			t.Fatalf("queue event %+v", ev)
		}
		seen = append(seen, ev.Type+"/"+ev.Operator)
	}
	if !slices.Equal(seen, []string{"joined/", "answered/olga"}) {
		t.Fatalf("queue events %v", seen)
	}
	caller.send(caller.request("BYE", res.pc.target, res.pc.cid, randHex(6), res.pc.toHdr, 3, "", nil))
	pOlga.wait("BYE at olga's phone", isReq("BYE"))
}

// TestQueueOverflow: with no operator available the call waits, ringing
// nobody, then overflows to overflow_to (a diversion, RFC 5806); a queue
// without overflow target refuses with 480 and a Reason (RFC 3326).
func TestQueueOverflow(t *testing.T) {
	a := runApp(t, queueUsers+`attendant:
  console_link: {tls: ""}
  queues:
    - {number: "9000", group: operators, ring: 20s, overflow_after: 2s, overflow_to: "2000"}
    - {number: "9001", group: operators, overflow_after: 1s}
`, cheapAccounts(t, nil))
	base := "https://" + a.AdminAddr()
	c := clientFrom("127.0.0.1")
	mkOperator(t, a, c, base, "olga", "gateway:u1001", "operators") // never logged in
	caller := newTestPhone(t, a, "u1000", 0)
	pOlga := newTestPhone(t, a, "u1001", 50*time.Millisecond)
	pOver := newTestPhone(t, a, "u2000", 50*time.Millisecond)

	start := time.Now()
	pc, st := caller.call("9000")
	if st != 200 {
		t.Fatalf("queued call: %d", st)
	}
	t.Logf("overflowed and answered after %v", time.Since(start))
	inv := pOver.wait("INVITE at the overflow target", isInvite)
	if !strings.Contains(inv.get("Diversion"), "9000") || !strings.Contains(inv.get("Diversion"), "no-answer") {
		t.Errorf("overflow INVITE Diversion %q", inv.get("Diversion"))
	}
	if pOlga.seen(isReq("INVITE")) {
		t.Error("an operator not logged in rang")
	}
	caller.send(caller.request("BYE", pc.target, pc.cid, randHex(6), pc.toHdr, 3, "", nil))

	cid := randHex(8)
	ch := caller.expect(cid)
	ruri := "sip:9001@example.com"
	branch := randHex(6)
	caller.send(caller.request("INVITE", ruri, cid, branch, "<"+ruri+">", 1, caller.sdp("sendrecv"), nil))
	res := caller.final(ch, "INVITE")
	if res.status == 407 {
		caller.send(caller.request("ACK", ruri, cid, branch, res.get("To"), 1, "", nil))
		auth := digestMD5(md5Challenge(res, "Proxy-Authenticate"), "INVITE", ruri, "u1000", "secret")
		branch = randHex(6)
		caller.send(caller.request("INVITE", ruri, cid, branch, "<"+ruri+">", 2, caller.sdp("sendrecv"), []string{"Proxy-Authorization: " + auth}))
		res = caller.final(ch, "INVITE")
	}
	if res.status != 480 || !strings.Contains(res.get("Reason"), "cause=480") {
		t.Fatalf("queue without overflow target: %s Reason %q", res.first, res.get("Reason"))
	}
	caller.send(caller.request("ACK", ruri, cid, branch, res.get("To"), 2, "", nil))
}

// TestQueueCancelAndBusy: an operator in a call is skipped (busy); a
// caller who hangs up while waiting leaves the queue (left/cancelled on
// the stream) and the ringing operator gets CANCEL; a supervisor sees
// every queue.
func TestQueueCancelAndBusy(t *testing.T) {
	a := runApp(t, queueUsers+`attendant:
  console_link: {tls: ""}
  queues: [{number: "9000", group: operators, ring: 20s, overflow_after: 60s}]
`, cheapAccounts(t, nil))
	base := "https://" + a.AdminAddr()
	c := clientFrom("127.0.0.1")
	mkOperator(t, a, c, base, "olga", "gateway:u1001", "operators")
	mkOperator(t, a, c, base, "oscar", "gateway:u1003", "operators")
	login(t, c, base, "olga", "olga-password")
	login(t, c, base, "oscar", "oscar-password")
	conn, br := wsDial(t, a, a.AdminAddr(), "")
	readMsg(t, conn, br) // the snapshot

	caller := newTestPhone(t, a, "u1000", 0)
	pOlga := newTestPhone(t, a, "u1001", 0) // rings until cancelled
	pOscar := newTestPhone(t, a, "u1003", 50*time.Millisecond)
	pOther := newTestPhone(t, a, "u1002", 50*time.Millisecond)
	// oscar is in a call (his lamp is busy).
	if _, st := pOscar.call("1002"); st != 200 {
		t.Fatalf("oscar's own call: %d", st)
	}
	pOther.wait("INVITE at 1002", isInvite)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if d, err := a.att.Device("gateway:u1003"); err == nil && len(d.Calls) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("oscar's lamp never showed his call")
		}
		time.Sleep(20 * time.Millisecond)
	}

	cid := randHex(8)
	ch := caller.expect(cid)
	ruri := "sip:9000@example.com"
	branch := randHex(6)
	caller.send(caller.request("INVITE", ruri, cid, branch, "<"+ruri+">", 1, caller.sdp("sendrecv"), nil))
	res := caller.final(ch, "INVITE")
	if res.status != 407 {
		t.Fatalf("first INVITE: %s", res.first)
	}
	caller.send(caller.request("ACK", ruri, cid, branch, res.get("To"), 1, "", nil))
	auth := digestMD5(md5Challenge(res, "Proxy-Authenticate"), "INVITE", ruri, "u1000", "secret")
	branch = randHex(6)
	caller.send(caller.request("INVITE", ruri, cid, branch, "<"+ruri+">", 2, caller.sdp("sendrecv"), []string{"Proxy-Authorization: " + auth}))
	pOlga.wait("INVITE at olga's phone", isInvite)
	time.Sleep(500 * time.Millisecond)
	if n := len(pOscar.all(isInvite)); n != 0 {
		t.Fatalf("the busy operator's phone got %d queue INVITEs", n)
	}
	q := getQueues(t, c, base, "", adminBasic(a))
	if len(q.Queues) != 1 || len(q.Queues[0].Waiting) != 1 || !slices.Equal(q.Queues[0].Waiting[0].Ringing, []string{"olga"}) {
		t.Fatalf("admin's view %+v", q)
	}
	// The caller gives up (RFC 3261 §9.1: CANCEL with the INVITE's Via branch).
	caller.send(caller.request("CANCEL", ruri, cid, branch, "<"+ruri+">", 2, "", nil))
	if res := caller.final(ch, "INVITE"); res.status != 487 {
		t.Fatalf("cancelled queued call: %s", res.first)
	} else {
		caller.send(caller.request("ACK", ruri, cid, branch, res.get("To"), 2, "", nil))
	}
	pOlga.wait("CANCEL at olga's phone", isReq("CANCEL"))
	for {
		m, _ := readMsg(t, conn, br)
		if m.Type != "queue" {
			continue
		}
		var ev opqueue.Event
		if err := json.Unmarshal(m.Queue, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type == opqueue.EventJoined {
			continue
		}
		if ev.Type != opqueue.EventLeft || ev.Why != opqueue.Cancelled || ev.Caller != "u1000" {
			t.Fatalf("queue event %+v", ev)
		}
		break
	}
	if q := getQueues(t, c, base, "", adminBasic(a)); len(q.Queues[0].Waiting) != 0 {
		t.Fatalf("cancelled call still waiting: %+v", q)
	}
}

// TestQueueFlood: a flood of calls to a queue fills it to max_waiting;
// the rest are refused at once with 486 and a Reason, and the calls that
// wait are unharmed (they overflow in time).
func TestQueueFlood(t *testing.T) {
	a := runApp(t, queueUsers+`attendant:
  console_link: {tls: ""}
  queues: [{number: "9000", group: operators, overflow_after: 3s, overflow_to: "2000", max_waiting: 3}]
`, cheapAccounts(t, nil))
	caller := newTestPhone(t, a, "u1000", 0)
	pOver := newTestPhone(t, a, "u2000", 50*time.Millisecond)
	const n = 12
	type out struct {
		status int
		reason string
	}
	res := make(chan out, n)
	ruri := "sip:9000@example.com"
	for range n {
		go func() {
			cid := randHex(8)
			ch := caller.expect(cid)
			branch := randHex(6)
			caller.send(caller.request("INVITE", ruri, cid, branch, "<"+ruri+">", 1, caller.sdp("sendrecv"), nil))
			r := caller.final(ch, "INVITE")
			if r.status == 407 {
				caller.send(caller.request("ACK", ruri, cid, branch, r.get("To"), 1, "", nil))
				auth := digestMD5(md5Challenge(r, "Proxy-Authenticate"), "INVITE", ruri, "u1000", "secret")
				branch = randHex(6)
				caller.send(caller.request("INVITE", ruri, cid, branch, "<"+ruri+">", 2, caller.sdp("sendrecv"), []string{"Proxy-Authorization: " + auth}))
				r = caller.final(ch, "INVITE")
			}
			if r.status >= 300 {
				caller.send(caller.request("ACK", ruri, cid, branch, r.get("To"), 2, "", nil))
			} else if r.status == 200 {
				target := strings.Trim(strings.TrimSpace(r.get("Contact")), "<>")
				caller.send(caller.request("ACK", target, cid, randHex(6), r.get("To"), 2, "", nil))
				caller.send(caller.request("BYE", target, cid, randHex(6), r.get("To"), 3, "", nil))
			}
			res <- out{r.status, r.get("Reason")}
		}()
	}
	counts := map[int]int{}
	for range n {
		select {
		case o := <-res:
			counts[o.status]++
			if o.status == 486 && !strings.Contains(o.reason, "Queue full") {
				t.Errorf("486 Reason %q", o.reason)
			}
		case <-time.After(40 * time.Second):
			t.Fatalf("flood not settled: %v", counts)
		}
	}
	t.Logf("outcomes %v", counts)
	// The excess is refused: 486 by the full queue, or 503 with
	// Retry-After by the call policy's per-user call limit when the
	// refused calls of the same caller pile up first.
	if counts[200] != 3 || counts[486] == 0 || counts[486]+counts[503] != n-3 {
		t.Fatalf("outcomes %v: want 3 overflowed and answered, the other %d refused (486, some 503)", counts, n-3)
	}
	if got := len(pOver.all(isInvite)); got != 3 {
		t.Fatalf("overflow target got %d INVITEs, want 3", got)
	}
}
