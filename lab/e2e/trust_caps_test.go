package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Calls-per-second caps per user and per trunk (issue 10, "Class of
// service"), attacked on the running gateway: an authenticated user fires
// calls to the trunk faster than its class, or the trunk, allows.

// answerBusy answers every INVITE reaching pbx with 486 until stop is
// closed, and returns the number it saw (retransmissions not counted).
func answerBusy(pbx *rawPBX, stop chan struct{}) func() int {
	var mu sync.Mutex
	seen := map[string]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			inv, from := pbx.next(200*time.Millisecond, "INVITE")
			if inv == "" {
				continue
			}
			mu.Lock()
			seen[header(inv, "Call-ID")] = true
			mu.Unlock()
			pbx.send(response(inv, 486, "Busy Here", randHex(4), "", ""), from)
		}
	}()
	return func() int {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
}

// TestCoSCallRateCaps: ten calls at once from u1000 to a national
// number, with a cap of 1 call a second and a burst of 2, once on the
// user's class and once on the trunk. The calls over the cap get 503
// "call rate exceeded" with Retry-After and never reach the trunk; the
// trunk sees no more than the burst plus one call per second elapsed.
func TestCoSCallRateCaps(t *testing.T) {
	for _, tt := range []struct{ name, users, trunkLimits string }{
		{"user class", `users:
  - {username: u1000, password: secret, class: slow}
call_policy:
  classes:
    - {name: slow, allow: [internal, private, national], calls_per_second: 1, burst: 2}
`, ""},
		{"trunk", `users:
  - {username: u1000, password: secret, class: fast}
call_policy:
  classes:
    - {name: fast, allow: [internal, private, national], calls_per_second: 100, burst: 100}
`, ", limits: {calls_per_second: 1, burst: 2}"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pbx := newRawPBX(t, "127.0.0.2")
			g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
numbering: {region: CH}
trunks:
  - {name: pbx, target: "sip:127.0.0.2:%d", failover_timeout: 1s, timeout: 3s, probe: {interval: 0s}, match: ["0x"]%s}
%s`, pbx.port(), tt.trunkLimits, tt.users))
			stop := make(chan struct{})
			reached := answerBusy(pbx, stop)
			type outcome struct {
				code   int
				reason string
			}
			const calls = 10 // at once: burst 2 and 1 a second must refuse some, even when a loaded machine spreads them over seconds
			out := make(chan outcome, calls)
			start := time.Now()
			for range calls {
				go func() { c, r := dialStatus(t, g, "0441234567", 15*time.Second); out <- outcome{c, r} }()
			}
			limited := 0
			for range calls {
				o := <-out
				switch {
				case o.code == 503 && strings.Contains(o.reason, "call rate exceeded") && !strings.HasSuffix(o.reason, "|"):
					limited++
				case o.code == 486:
				default:
					t.Errorf("call: %d %q, want 486 from the trunk or 503 call rate exceeded with Retry-After", o.code, o.reason)
				}
			}
			elapsed := time.Since(start)
			close(stop)
			n := reached()
			t.Logf("%d of %d calls reached the trunk, %d refused, in %v", n, calls, limited, elapsed.Round(time.Millisecond))
			if limited == 0 {
				t.Errorf("no call refused for its rate")
			}
			if most := 2 + int(elapsed/time.Second) + 1; n > most {
				t.Errorf("%d calls reached the trunk in %v, want at most %d (burst 2, 1 a second)", n, elapsed, most)
			}
			if n+limited != calls {
				t.Errorf("%d reached the trunk and %d were refused, of %d", n, limited, calls)
			}
		})
	}
}
