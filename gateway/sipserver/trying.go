package sipserver

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// tryingAfter is how long an INVITE's handler may take before its server
// transaction sends 100 Trying itself (RFC 3261 §17.2.1: 200 ms).
var tryingAfter = 200 * time.Millisecond

// finalTracker wraps a handler's server transaction: it notes whether, and
// which, final response was sent, and for an INVITE it sends the 100
// Trying of RFC 3261 §17.2.1 when the handler has answered nothing within
// tryingAfter. sipgo's own timer for that 100 is off (init, server.go):
// it cannot tell the handler whether it fired, and the handler must know
// (EndRefused).
type finalTracker struct {
	sip.ServerTransaction
	s     *Server
	req   *sip.Request
	final atomic.Bool
	code  atomic.Int32

	mu    sync.Mutex
	timer *time.Timer
	sent  bool // a response went out (or the 100 was given up)
	tried bool // the 100 Trying of the timer went out
}

// armTrying starts the 100 Trying timer of an INVITE's transaction.
func (t *finalTracker) armTrying() {
	t.mu.Lock()
	t.timer = time.AfterFunc(tryingAfter, t.trying)
	t.mu.Unlock()
}

// trying sends 100 Trying unless the handler answered first. The lock is
// held across the write so that a response the handler sends meanwhile
// leaves after the 100, never before it.
func (t *finalTracker) trying() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sent {
		return
	}
	t.sent, t.tried = true, true
	res := sip.NewResponseFromRequest(t.req, sip.StatusTrying, "Trying", nil)
	if err := t.ServerTransaction.Respond(res); err != nil {
		t.s.log.Debug("sending 100 Trying", "error", err)
	}
}

// Respond implements sip.ServerTransaction.
func (t *finalTracker) Respond(res *sip.Response) error {
	t.mu.Lock()
	t.sent = true
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	t.mu.Unlock()
	if res.StatusCode >= 200 {
		t.final.Store(true)
		t.code.Store(int32(res.StatusCode))
	}
	return t.ServerTransaction.Respond(res)
}

// EndRefused ends tx after the handler refused or challenged its request
// before knowing the client (a 407 to an INVITE without credentials), as a
// stateless server does (RFC 3261 §8.2.7; Kamailio's sl module likewise):
// a retransmitted request is refused anew, and nothing retransmits the
// refusal for Timer H to a client that puts its ACK on another branch
// (SIPp).
//
// That is only safe while no provisional response went out: a client that
// got 100 Trying stops retransmitting its INVITE (RFC 3261 §17.1.1.2), so a
// lost refusal would leave it waiting until its Timer B (a stateless UAS
// sends no 1xx, RFC 3261 §8.2.7). When the transaction's 100 Trying went
// out (a handler slower than 200 ms: a loaded gateway) tx is kept instead,
// and it retransmits the refusal (Timer G, RFC 3261 §17.2.1) until the ACK
// — matched by branch by sipgo, or by Call-ID, From tag and CSeq here for
// an ACK on another branch — or the client's next request of the same
// Call-ID and From tag (it got the refusal), or Timer H.
//
// A transaction that is not the handler's (tests) is terminated.
func EndRefused(tx sip.ServerTransaction) {
	t, ok := tx.(*finalTracker)
	if !ok {
		tx.Terminate()
		return
	}
	t.mu.Lock()
	tried := t.tried
	t.mu.Unlock()
	if !tried {
		t.ServerTransaction.Terminate()
		return
	}
	t.s.keep(t)
}

// keptKey identifies the requests that show the client got a refusal:
// those of the same Call-ID and From tag (RFC 3261 §17.2.3's fallback
// for an ACK, the dialog-forming identifiers of §12).
func keptKey(req *sip.Request) string {
	cid, from := req.CallID(), req.From()
	if cid == nil || from == nil {
		return ""
	}
	tag, _ := from.Params.Get("tag")
	return cid.Value() + "\x00" + tag
}

// kept holds the refused transactions EndRefused keeps, by keptKey.
type kept struct {
	n  atomic.Int64 // len(m), read without the lock on every request
	mu sync.Mutex
	m  map[string]*finalTracker
}

func (s *Server) keep(t *finalTracker) {
	k := keptKey(t.req)
	if k == "" {
		t.ServerTransaction.Terminate()
		return
	}
	s.kept.mu.Lock()
	if s.kept.m == nil {
		s.kept.m = map[string]*finalTracker{}
	}
	if old := s.kept.m[k]; old != nil && old != t {
		defer old.ServerTransaction.Terminate()
	}
	s.kept.m[k] = t
	s.kept.n.Store(int64(len(s.kept.m)))
	s.kept.mu.Unlock()
	if !t.OnTerminate(func(string, error) { s.unkeep(k, t) }) {
		s.unkeep(k, t)
	}
}

func (s *Server) unkeep(k string, t *finalTracker) {
	s.kept.mu.Lock()
	if s.kept.m[k] == t {
		delete(s.kept.m, k)
		s.kept.n.Store(int64(len(s.kept.m)))
	}
	s.kept.mu.Unlock()
}

// settleKept ends the kept transaction that req shows answered: an ACK,
// or a later request of the same Call-ID and From tag on another branch
// (a retransmission of the kept request itself never reaches a handler:
// sipgo gives it to the transaction).
func (s *Server) settleKept(req *sip.Request) {
	if s.kept.n.Load() == 0 {
		return
	}
	k := keptKey(req)
	if k == "" {
		return
	}
	s.kept.mu.Lock()
	t := s.kept.m[k]
	if t != nil && t.req != req {
		if cs, cseq := req.CSeq(), t.req.CSeq(); cs == nil || cseq == nil ||
			(req.Method == sip.ACK && cs.SeqNo != cseq.SeqNo) || (req.Method != sip.ACK && cs.SeqNo <= cseq.SeqNo) {
			t = nil // another transaction's ACK, or an older request
		}
	} else {
		t = nil
	}
	if t != nil {
		delete(s.kept.m, k)
		s.kept.n.Store(int64(len(s.kept.m)))
	}
	s.kept.mu.Unlock()
	if t != nil {
		t.ServerTransaction.Terminate()
	}
}
