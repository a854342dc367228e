package config

import (
	"fmt"
	"time"
)

// OperatorQueue is one operator queue the gateway hosts (attendant.queues,
// issue 14): calls to Number wait while the available operators of Group
// ring on their own gateway devices.
type OperatorQueue struct {
	// Number is what callers dial; it is routed before local users.
	Number string `yaml:"number"`
	// Group is the operator group (accounts' groups) whose operators
	// answer the queue.
	Group string `yaml:"group"`
	// Ring is how long one round rings the operators before it is
	// cancelled and the next round starts. 1s to 10m. Default: 20s.
	Ring Duration `yaml:"ring"`
	// OverflowAfter is how long a call waits before it goes to
	// OverflowTo. 1s to 1h. Default: 60s.
	OverflowAfter Duration `yaml:"overflow_after"`
	// OverflowTo receives the calls that waited OverflowAfter; "" refuses
	// them with 480 instead. Default: "".
	OverflowTo string `yaml:"overflow_to"`
	// Strategy is all (the call first in line rings every available
	// operator) or longest_idle (each call in line rings one operator,
	// the one idle longest first). Default: all.
	Strategy string `yaml:"strategy"`
	// MaxWaiting is how many calls may wait at once; more are refused
	// with 486. 1 to 10000. Default: 50.
	MaxWaiting int `yaml:"max_waiting"`
}

// Queue strategies.
const (
	QueueAll         = "all"
	QueueLongestIdle = "longest_idle"
)

// Defaults of an operator queue.
const (
	DefaultQueueRing          = 20 * time.Second
	DefaultQueueOverflowAfter = 60 * time.Second
)

// validateQueues fills the queues' defaults and checks them.
func (d *decoder) validateQueues(qs []OperatorQueue) {
	seen := map[string]bool{}
	for i := range qs {
		q := &qs[i]
		key := fmt.Sprintf("attendant.queues[%d]", i)
		if q.Ring == 0 {
			q.Ring = Duration(DefaultQueueRing)
		}
		if q.OverflowAfter == 0 {
			q.OverflowAfter = Duration(DefaultQueueOverflowAfter)
		}
		if q.Strategy == "" {
			q.Strategy = QueueAll
		}
		if q.MaxWaiting == 0 {
			q.MaxWaiting = 50
		}
		if q.MaxWaiting < 1 || q.MaxWaiting > 10000 {
			d.errorf(key+".max_waiting", "%d is out of range: must be from 1 to 10000", q.MaxWaiting)
		}
		if q.Number == "" || !dialable(q.Number) || seen[q.Number] {
			d.errorf(key+".number", "%q: a queue needs a unique number of digits, * and #", q.Number)
		}
		seen[q.Number] = true
		if q.Group == "" {
			d.errorf(key+".group", "a queue needs an operator group")
		}
		if q.Ring.D() < time.Second || q.Ring.D() > 10*time.Minute {
			d.errorf(key+".ring", "%s is out of range: must be from 1s to 10m", q.Ring.D())
		}
		if q.OverflowAfter.D() < time.Second || q.OverflowAfter.D() > time.Hour {
			d.errorf(key+".overflow_after", "%s is out of range: must be from 1s to 1h", q.OverflowAfter.D())
		}
		if q.OverflowTo != "" && (!dialable(q.OverflowTo) || q.OverflowTo == q.Number) {
			d.errorf(key+".overflow_to", "%q: a number of digits, * and #, not the queue's own", q.OverflowTo)
		}
		if q.Strategy != QueueAll && q.Strategy != QueueLongestIdle {
			d.errorf(key+".strategy", "%q: all or longest_idle", q.Strategy)
		}
	}
}

// dialable reports whether s is a number of digits, * and # (at most 32).
func dialable(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '*' && s[i] != '#' {
			return false
		}
	}
	return true
}
