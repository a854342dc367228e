package callpolicy

import (
	"fmt"
	"math"
	"time"
)

// Ticket is an admitted call's hold on the caps: release it when the call
// ends, mark it answered when it leaves setup. Both are idempotent and
// safe on a nil Ticket.
type Ticket struct {
	p        *Policy
	keys     []string // calls held, per party and trunk
	ringKey  string   // ringing slot held, "" = none
	held     bool
	Category Category
}

// Admit decides on c: a Ticket to hold until the call ends, or a
// *Refusal. Emergency numbers are always admitted and counted nowhere.
func (p *Policy) Admit(c Call) (*Ticket, error) {
	cl := Classification{Category: Internal}
	if !c.Local {
		cl = p.cls.Load().Classify(c.Number)
	}
	cat := cl.Category
	p.mu.Lock()
	defer p.mu.Unlock()
	if cat == Emergency {
		p.stats.EmergencyAdmitted++
		return &Ticket{Category: cat}, nil
	}
	if pre := p.deny.match(cl.E164); pre != "" {
		p.stats.RefusedDenied++
		return nil, forbidden(ErrDenied, cat, "destination denied", fmt.Sprintf("%s (%s) matches %s", c.Number, cl.E164, pre))
	}
	className := p.classOf(c.Party)
	class := p.classes[className]
	if !class.allows(cat) {
		p.stats.RefusedCategory++
		return nil, forbidden(ErrCategory, cat, string(cat)+" calls not allowed",
			fmt.Sprintf("%s is %s, class %s of %s", c.Number, cat, className, c.Party.Name))
	}
	now := p.now()
	t := &Ticket{p: p, Category: cat, held: true}
	if c.Setup {
		key, limit := p.ringSlot(c)
		if limit > 0 && p.ringing[key] >= limit {
			p.stats.RefusedRinging++
			return nil, unavailable(ErrRinging, cat, "too many calls in setup", time.Second,
				fmt.Sprintf("%s has %d calls in setup", key, p.ringing[key]))
		}
		if limit > 0 {
			t.ringKey = key
		}
	}
	type capped struct {
		key              string
		max, rate, burst int
	}
	caps := []capped{{c.Party.key(), class.MaxCalls, class.CallsPerSecond, class.Burst}}
	for _, tr := range []string{c.ToTrunk, c.FromTrunk} {
		if tr == "" {
			continue
		}
		l := p.trunks[tr]
		caps = append(caps, capped{"trunk-capacity:" + tr, l.MaxCalls, l.CallsPerSecond, l.Burst})
	}
	for _, k := range caps {
		if k.max > 0 && p.calls[k.key] >= k.max {
			p.stats.RefusedCalls++
			return nil, unavailable(ErrTooManyCalls, cat, "too many calls", 5*time.Second,
				fmt.Sprintf("%s has %d calls", k.key, p.calls[k.key]))
		}
		if k.rate > 0 {
			if wait := p.bucket(k.key, k.rate, k.burst, now).wait(now); wait > 0 {
				p.stats.RefusedRate++
				return nil, unavailable(ErrRate, cat, "call rate exceeded", wait,
					fmt.Sprintf("%s over %d calls a second", k.key, k.rate))
			}
		}
	}
	for _, k := range caps {
		if k.rate > 0 {
			p.buckets[k.key].take()
		}
		p.calls[k.key]++
		t.keys = append(t.keys, k.key)
	}
	if t.ringKey != "" {
		p.ringing[t.ringKey]++
		p.stats.Ringing++
	}
	p.stats.Admitted++
	p.stats.Calls++
	return t, nil
}

// ringSlot is the ringing counter a call in setup takes and its cap: its
// trunk's, or its source's (IPv6 per /64).
func (p *Policy) ringSlot(c Call) (string, int) {
	if c.FromTrunk != "" {
		return "trunk:" + c.FromTrunk, p.trunks[c.FromTrunk].MaxRinging
	}
	if !c.Source.IsValid() {
		return "", 0
	}
	a := c.Source.Unmap()
	if a.Is6() {
		pfx, _ := a.Prefix(64)
		return "source:" + pfx.String(), p.maxRingSrc
	}
	return "source:" + a.String(), p.maxRingSrc
}

// Answered ends the call's setup: its ringing slot is free.
func (t *Ticket) Answered() {
	if t == nil || t.p == nil {
		return
	}
	p := t.p
	p.mu.Lock()
	defer p.mu.Unlock()
	p.unring(t)
}

func (p *Policy) unring(t *Ticket) {
	if t.ringKey == "" {
		return
	}
	if p.ringing[t.ringKey]--; p.ringing[t.ringKey] <= 0 {
		delete(p.ringing, t.ringKey)
	}
	t.ringKey = ""
	p.stats.Ringing--
}

// Release ends the call's hold on every cap.
func (t *Ticket) Release() {
	if t == nil || t.p == nil {
		return
	}
	p := t.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if !t.held {
		return
	}
	t.held = false
	p.unring(t)
	for _, k := range t.keys {
		if p.calls[k]--; p.calls[k] <= 0 {
			delete(p.calls, k)
		}
	}
	p.stats.Calls--
}

// bucket is a token bucket of new calls.
type bucket struct {
	tokens float64
	rate   float64 // tokens a second
	burst  float64
	last   time.Time
}

// bucket returns the bucket of key, made full when new. Buckets that
// refilled are dropped when the map grows, so it holds about as many
// buckets as parties calling recently.
func (p *Policy) bucket(key string, rate, burst int, now time.Time) *bucket {
	b := p.buckets[key]
	if b == nil {
		if burst <= 0 {
			burst = rate
		}
		if len(p.buckets) >= p.pruneAt {
			for k, x := range p.buckets {
				if x.refill(now); x.tokens >= x.burst {
					delete(p.buckets, k)
				}
			}
			p.pruneAt = max(1024, 2*len(p.buckets))
		}
		b = &bucket{tokens: float64(burst), rate: float64(rate), burst: float64(burst), last: now}
		p.buckets[key] = b
	}
	return b
}

func (b *bucket) refill(now time.Time) {
	if d := now.Sub(b.last).Seconds(); d > 0 {
		b.tokens = math.Min(b.burst, b.tokens+d*b.rate)
		b.last = now
	}
}

// wait refills the bucket and returns how long until a token is there; 0
// when there is one now.
func (b *bucket) wait(now time.Time) time.Duration {
	b.refill(now)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration(math.Ceil((1 - b.tokens) / b.rate * float64(time.Second)))
}

func (b *bucket) take() { b.tokens-- }
