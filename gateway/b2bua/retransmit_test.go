package b2bua

import (
	"errors"
	"testing"
	"time"
)

// TestRetransmit: the one retransmission loop (RFC 3261 §13.3.1.4,
// RFC 3262 §3) sends until a stop channel closes, stops on a send error
// (returned) and on errStopRetransmit (nil).
func TestRetransmit(t *testing.T) {
	stop := make(chan struct{})
	sends := 0
	err := retransmit(func() error {
		sends++
		if sends == 2 {
			close(stop)
		}
		return nil
	}, nil, stop)
	if err != nil || sends != 2 {
		t.Errorf("stopped after %d sends with %v, want 2 sends and nil", sends, err)
	}
	boom := errors.New("boom")
	if err := retransmit(func() error { return boom }); !errors.Is(err, boom) {
		t.Errorf("send error: got %v, want boom", err)
	}
	if err := retransmit(func() error { return errStopRetransmit }); err != nil {
		t.Errorf("errStopRetransmit: got %v, want nil", err)
	}
	closed := make(chan struct{})
	close(closed)
	done := make(chan error, 1)
	go func() { done <- retransmit(func() error { t.Error("sent after stop"); return nil }, closed) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("stopped before the first send: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("retransmit ignored a closed stop channel")
	}
}
