package b2bua

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// Loop detection (RFC 3261 §16.3 step 4, RFC 5393 §4.2 ideas, done by a
// B2BUA): every B-leg INVITE carries a Via branch and a Call-ID that we
// can recognise (a keyed MAC over a random part). An INVITE that comes
// back with one of our branches in its Via (a proxy sent our request back)
// or with one of our Call-IDs (a hop that keeps the Call-ID routed it to
// us again) is a loop: 482. Hops that re-originate requests (other
// B2BUAs) drop both; Max-Forwards, decremented across our two legs
// (§16.6 step 3), ends those loops with 483.

// markLen is the length in hex of the MAC in our branches and Call-IDs.
const markLen = 8

// branchMark starts our Via branches after the RFC 3261 magic cookie.
const branchMark = sip.RFC3261BranchMagicCookie + "sb"

// callIDMark separates the random part of our Call-IDs from the MAC.
const callIDMark = "-sb"

// defaultMaxForwards is what an INVITE without Max-Forwards is taken to
// carry (RFC 3261 §8.1.1.6).
const defaultMaxForwards = 70

func (b *B2BUA) mark(s string) string {
	m, _ := markers.Get().(*marker)
	if m == nil || m.key != &b.markKey {
		m = &marker{key: &b.markKey, h: hmac.New(sha256.New, b.markKey[:])}
	} else {
		m.h.Reset()
	}
	m.h.Write([]byte("loop\x00"))
	m.h.Write([]byte(s))
	var sum [sha256.Size]byte
	out := hex.EncodeToString(m.h.Sum(sum[:0])[:markLen/2])
	markers.Put(m)
	return out
}

// marker is a keyed HMAC kept for the next mark: hmac.New hashes the key
// twice and allocates, Reset only restores the keyed state. key (which
// the pool keeps alive, so no other B2BUA can have its address) says
// whose key it holds.
type marker struct {
	key *[32]byte
	h   hash.Hash
}

var markers sync.Pool

// newBranch is a Via branch of ours (RFC 3261 §8.1.1.7).
func (b *B2BUA) newBranch() string {
	r := randomTag()
	return branchMark + r + b.mark(r)
}

// newCallID is a Call-ID of ours (RFC 3261 §8.1.1.4).
func (b *B2BUA) newCallID() string {
	r := randomTag()
	return r + callIDMark + b.mark(r)
}

// ours reports whether a branch or Call-ID was made by newBranch or
// newCallID.
func (b *B2BUA) ourBranch(branch string) bool {
	rest, ok := strings.CutPrefix(branch, branchMark)
	if !ok || len(rest) <= markLen {
		return false
	}
	r, m := rest[:len(rest)-markLen], rest[len(rest)-markLen:]
	return hmac.Equal([]byte(m), []byte(b.mark(r)))
}

func (b *B2BUA) ourCallID(cid string) bool {
	i := strings.LastIndex(cid, callIDMark)
	if i < 0 || len(cid)-i-len(callIDMark) != markLen {
		return false
	}
	r, m := cid[:i], cid[i+len(callIDMark):]
	return hmac.Equal([]byte(m), []byte(b.mark(r)))
}

// checkHops checks a new INVITE for loops and Max-Forwards before anything
// else (RFC 3261 §16.3 steps 3 and 4) and returns the Max-Forwards the B
// leg carries: the caller's minus one.
func (b *B2BUA) checkHops(req *sip.Request) (int, error) {
	if cid := req.CallID(); cid != nil && b.ourCallID(string(*cid)) {
		return 0, fmt.Errorf("%w: our own Call-ID %s came back", ErrLoop, string(*cid))
	}
	for _, h := range req.GetHeaders("Via") {
		v, ok := h.(*sip.ViaHeader)
		if !ok {
			continue
		}
		if br, _ := v.Params.Get("branch"); b.ourBranch(br) {
			return 0, fmt.Errorf("%w: our own Via branch %s came back", ErrLoop, br)
		}
	}
	mf := defaultMaxForwards
	if h := req.MaxForwards(); h != nil {
		mf = int(h.Val())
	}
	if mf <= 0 {
		return 0, ErrTooManyHops
	}
	return mf - 1, nil
}
