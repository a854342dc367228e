package b2bua

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// roundQueue is a queue 9000 whose operator is u1001: the first step
// rings u1001, a later one, once the first round rang roundLen, ends the
// round and rings u1001 again (QueueStep.EndRound with Ring); it records
// what the b2bua told it.
type roundQueue struct {
	roundLen time.Duration
	mu       sync.Mutex
	start    time.Time
	rounds   int
	tried    [][]string // per step: the tried list it got
	answered []string
	left     []string
}

func (q *roundQueue) IsQueue(n string) bool { return n == "9000" }

func (q *roundQueue) Join(_, _, _ string) (QueueWait, error) { return q, nil }

func (q *roundQueue) Next(tried, _ []string) QueueStep {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tried = append(q.tried, slices.Clone(tried))
	switch {
	case q.rounds == 0:
		q.rounds, q.start = 1, time.Now()
		return QueueStep{Ring: []string{"u1001"}}
	case q.rounds == 1 && time.Since(q.start) >= q.roundLen:
		q.rounds = 2
		return QueueStep{EndRound: true, Ring: []string{"u1001"}}
	}
	return QueueStep{}
}

func (q *roundQueue) Answered(u string) {
	q.mu.Lock()
	q.answered = append(q.answered, u)
	q.mu.Unlock()
}
func (q *roundQueue) Leave(why string) { q.mu.Lock(); q.left = append(q.left, why); q.mu.Unlock() }

// TestQueueRounds: a queue round that ends is cancelled (RFC 3261 §9.1)
// and the next one rings the operator again with a new INVITE, which the
// operator answers: the caller gets the 200, the queue hears who answered
// and no Leave; the first step of the new round sees the round's tried
// list (u1001), not the old round's. It passes before and after the
// queue's loop became a run of the shared fork loop (queue.go,
// forkloop.go).
func TestQueueRounds(t *testing.T) {
	dev := startForkDevice(t, false, 1500*time.Millisecond) // answers after 1.5 s unless cancelled
	q := &roundQueue{roundLen: 300 * time.Millisecond}
	gw, _ := startForkGatewayWith(t, func(o *Options) { o.Queues = q }, dev)
	c := newCaller(t, gw)
	c.send("INVITE", "sip:9000@example.com", "<sip:9000@example.com>", 1, forkSDP)
	res := c.final()
	if res.status() != 200 {
		t.Fatalf("caller got %s", res.first)
	}
	var invites, cancels []string
	dev.mu.Lock()
	for _, m := range dev.got {
		switch m.method() {
		case "INVITE":
			invites = append(invites, m.get("Call-ID"))
		case "CANCEL":
			cancels = append(cancels, m.get("Call-ID"))
		}
	}
	dev.mu.Unlock()
	if len(invites) != 2 || invites[0] == invites[1] || len(cancels) != 1 || cancels[0] != invites[0] {
		t.Errorf("device got INVITEs %v and CANCELs %v; want the first round's INVITE cancelled, a second one answered", invites, cancels)
	}
	to := res.get("To")
	target := trimAngle(res.get("Contact"))
	c.send("ACK", target, to, 1, "")
	c.send("BYE", target, to, 2, "")
	dev.waitFor(t, "BYE")
	q.mu.Lock()
	defer q.mu.Unlock()
	if !slices.Equal(q.answered, []string{"u1001"}) || len(q.left) != 0 {
		t.Errorf("queue told answered %v, left %v; want u1001 answered, no leave", q.answered, q.left)
	}
	for i, tr := range q.tried {
		if i > 0 && len(tr) != 1 {
			t.Errorf("step %d saw tried %v, want u1001 once (this round's)", i, tr)
		}
	}
}
