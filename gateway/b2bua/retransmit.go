package b2bua

import (
	"errors"
	"time"

	"github.com/emiago/sipgo/sip"
)

// errRetransmitTimeout: 64*T1 passed without what stops the
// retransmissions (an ACK, a PRACK).
var errRetransmitTimeout = errors.New("b2bua: no acknowledgement within 64*T1")

// errStopRetransmit is what a send function returns to stop the
// retransmissions quietly (retransmit then returns nil).
var errStopRetransmit = errors.New("b2bua: retransmission no longer needed")

// retransmit is the one retransmission schedule of the responses the
// gateway repeats itself: a 2xx to an INVITE until its ACK (RFC 3261
// §13.3.1.4; sipgo's server transaction does not, RFC 6026 §7.1) and a
// reliable provisional until its PRACK (RFC 3262 §3). send runs after
// T1, then at intervals doubling up to T2, until one of stop closes (nil),
// send fails (its error; errStopRetransmit gives nil) or 64*T1 passed
// (errRetransmitTimeout). At most four stop channels; nil ones never
// close.
func retransmit(send func() error, stop ...<-chan struct{}) error {
	var s [4]<-chan struct{}
	if len(stop) > len(s) {
		panic("b2bua: retransmit takes at most four stop channels")
	}
	copy(s[:], stop)
	wait := sip.T1
	deadline := time.NewTimer(64 * sip.T1)
	defer deadline.Stop()
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-s[0]:
			return nil
		case <-s[1]:
			return nil
		case <-s[2]:
			return nil
		case <-s[3]:
			return nil
		case <-deadline.C:
			return errRetransmitTimeout
		case <-t.C:
			if err := send(); err != nil {
				if errors.Is(err, errStopRetransmit) {
					return nil
				}
				return err
			}
			wait = min(2*wait, sip.T2)
			t.Reset(wait)
		}
	}
}
