package b2bua

import (
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Our tags (RFC 3261 §19.3) are random per dialog: 80 bits from
// crypto/rand, so that nothing an attacker can send makes us reveal the
// tag of a dialog it is not a party of.
//
// One property of the keyed hash they replace is kept, by memory: the 407
// (or any other answer) to an INVITE outside a dialog and the answers of
// the caller's retried INVITE (same Call-ID, same From tag, same source)
// carry the same To tag, for clients such as SIPp that keep the first To
// tag they see. The memory is per source address, so another host asking
// with the same Call-ID and From tag gets a tag of its own, and it is
// forgotten when the INVITE forms its dialog (take).

// tagLen is the number of random bytes in a tag.
const tagLen = 10

// tagMemoryTTL is how long a tag given in an answer outside a dialog is
// kept for the caller's retried INVITE: one INVITE transaction's lifetime
// (64*T1, RFC 3261 §17.1.1.2).
var tagMemoryTTL = 64 * sip.T1

// tagMemoryMax bounds the memory; the oldest entry makes room for a new
// one, so a flood of INVITEs can only shorten how long a tag is kept.
const tagMemoryMax = 16384

// randomTag returns a new random tag.
func randomTag() string {
	var b [tagLen]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go 1.24)
	return hex.EncodeToString(b[:])
}

// tagMemory remembers the To tags given to INVITEs outside a dialog, by
// Call-ID, From tag and source address, in a bounded FIFO.
type tagMemory struct {
	mu   sync.Mutex
	m    map[string]tagEntry
	ring []string // keys in insertion order; ring[next] is the oldest
	next int
}

type tagEntry struct {
	tag  string
	at   time.Time
	slot int // where in ring the key was put
	// formed is the CSeq number of the INVITE that formed a dialog with
	// the tag (takeAt), 0 while none did.
	formed uint32
}

// tagKey is the memory's key for an INVITE: Call-ID, From tag, source IP.
func tagKey(req *sip.Request) string {
	var cid, ftag, src string
	if h := req.CallID(); h != nil {
		cid = string(*h)
	}
	if h := req.From(); h != nil {
		ftag, _ = h.Params.Get("tag")
	}
	if ap, err := netip.ParseAddrPort(req.Source()); err == nil {
		src = ap.Addr().Unmap().String()
	} else {
		src = req.Source()
	}
	return cid + "\x00" + ftag + "\x00" + src
}

// get returns the tag remembered for key, or remembers a new one.
func (m *tagMemory) get(key string, now time.Time) string { return m.getAt(key, 0, now) }

// getAt is get for an INVITE of CSeq number seq (0: unknown). Once a
// dialog formed with the tag, only a request of a lower CSeq gets it
// again: a retransmission of the challenged INVITE that is handled after
// the retried INVITE formed the dialog (sipgo runs each message on its
// own goroutine; on a loaded gateway one can come late). Its 407 with a
// new tag made SIPp, which keeps the last To tag it saw, send its BYE
// outside the dialog (481, a failed call).
func (m *tagMemory) getAt(key string, seq uint32, now time.Time) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.m[key]; ok && now.Sub(e.at) < tagMemoryTTL && (e.formed == 0 || seq != 0 && seq < e.formed) {
		return e.tag
	}
	if m.m == nil {
		m.m = make(map[string]tagEntry)
		m.ring = make([]string, tagMemoryMax)
	}
	if old := m.ring[m.next]; old != "" {
		if e, ok := m.m[old]; ok && e.slot == m.next {
			delete(m.m, old)
		}
	}
	e := tagEntry{tag: randomTag(), at: now, slot: m.next}
	m.m[key] = e
	m.ring[m.next] = key
	m.next = (m.next + 1) % len(m.ring)
	return e.tag
}

// take returns the tag remembered for key, or a new one, and forgets it:
// the INVITE now forms its dialog, which keeps the tag.
func (m *tagMemory) take(key string, now time.Time) string { return m.takeAt(key, 0, now) }

// takeAt is take for an INVITE of CSeq number seq: with seq known, the
// tag stays remembered, marked as the dialog's, for a late retransmission
// of an earlier INVITE (getAt); a second dialog never gets it.
func (m *tagMemory) takeAt(key string, seq uint32, now time.Time) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.m[key]
	if !ok || now.Sub(e.at) >= tagMemoryTTL || e.formed != 0 {
		return randomTag()
	}
	if seq == 0 {
		delete(m.m, key)
	} else {
		e.formed = seq
		m.m[key] = e
	}
	return e.tag
}

// len is the number of tags remembered.
func (m *tagMemory) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}
