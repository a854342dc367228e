package sipserver

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestCancelWithoutTransaction: a CANCEL that matches no transaction gets
// 481 (RFC 3261 §9.2), other methods without a handler 405 or 501 as
// before. Before, such a CANCEL got 405 (seen in the calls benchmark: SIPp
// cancelling an INVITE that had been answered and ended).
func TestCancelWithoutTransaction(t *testing.T) {
	_, udp, _ := startServer(t, Limits{}, func(*Server) {})
	c := attacker(t, "udp", udp)
	for _, tc := range []struct{ method, want string }{
		{"CANCEL", "SIP/2.0 481 Call/Transaction Does Not Exist"},
		{"SUBSCRIBE", "SIP/2.0 405 Method Not Allowed"},
		{"FROBNICATE", "SIP/2.0 501 Not Implemented"},
	} {
		if _, err := c.Write([]byte(request(tc.method, "UDP", "z9hG4bK-nr-"+tc.method))); err != nil {
			t.Fatal(err)
		}
		if got := statusOf(readStatus(t, c)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.method, got, tc.want)
		}
	}
}

func invite(branch string, cseq int) string {
	return strings.Replace(strings.Replace(request("INVITE", "UDP", branch), "CSeq: 1 INVITE", "CSeq: "+strconv.Itoa(cseq)+" INVITE", 1),
		"Call-ID: c-"+branch, "Call-ID: c-refused", 1)
}

// readUntil reads messages from c until one has the status line prefix
// want, for up to wait; it returns the status lines read.
func readUntil(t *testing.T, c net.Conn, want string, wait time.Duration) ([]string, bool) {
	t.Helper()
	var got []string
	buf := make([]byte, 65535)
	end := time.Now().Add(wait)
	for {
		_ = c.SetReadDeadline(end)
		n, err := c.Read(buf)
		if err != nil {
			return got, false
		}
		line := statusOf(string(buf[:n]))
		got = append(got, line)
		if strings.HasPrefix(line, want) {
			return got, true
		}
	}
}

// TestRefusalAfterTrying: an INVITE refused (407) by a handler that took
// longer than the 100 Trying timer (RFC 3261 §17.2.1) has had a 100 go
// out, after which the client no longer retransmits (RFC 3261
// §17.1.1.2): EndRefused keeps the transaction, which retransmits the 407
// until the ACK (here on another branch, as SIPp sends it). A quick
// refusal sends no 100 and ends the transaction at once, as a stateless
// server (RFC 3261 §8.2.7). Before, the refusal was never retransmitted
// and a lost 407 left the caller waiting (a failed call in the calls
// benchmark on a loaded machine).
func TestRefusalAfterTrying(t *testing.T) {
	old := tryingAfter
	t.Cleanup(func() { tryingAfter = old })
	for _, tc := range []struct {
		name  string
		after time.Duration // tryingAfter
		slow  bool          // the handler answers only once the 100 was read
	}{
		{"quick", time.Hour, false},
		{"slow", 20 * time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tryingAfter = tc.after
			done := make(chan sip.ServerTransaction, 1)
			release := make(chan struct{})
			s, udp, _ := startServer(t, Limits{}, func(s *Server) {
				s.Handle(sip.INVITE, func(req *sip.Request, tx sip.ServerTransaction) {
					if tc.slow {
						<-release
					}
					res := sip.NewResponseFromRequest(req, sip.StatusProxyAuthRequired, "Proxy Authentication Required", nil)
					res.To().Params.Add("tag", "gw")
					_ = tx.Respond(res)
					EndRefused(tx)
					done <- tx
				})
			})
			c := attacker(t, "udp", udp)
			if _, err := c.Write([]byte(invite("z9hG4bK-first", 1))); err != nil {
				t.Fatal(err)
			}
			if tc.slow {
				if got, ok := readUntil(t, c, "SIP/2.0 100 Trying", 5*time.Second); !ok || len(got) != 1 {
					t.Fatalf("want 100 Trying from a handler silent for %v, got %q", tc.after, got)
				}
				close(release)
			}
			got, ok := readUntil(t, c, "SIP/2.0 407", 5*time.Second)
			if !ok || len(got) != 1 {
				t.Fatalf("want the 407 alone, got %q", got)
			}
			tx := <-done
			if !tc.slow {
				select {
				case <-tx.Done():
				case <-time.After(5 * time.Second):
					t.Fatal("a quick refusal's transaction was kept")
				}
				return
			}
			// The 407 again (Timer G, T1 after the first), not the 100.
			if got, ok := readUntil(t, c, "SIP/2.0 ", 5*time.Second); !ok || got[0] != "SIP/2.0 407 Proxy Authentication Required" {
				t.Fatalf("after a 100, want the 407 retransmitted, got %q", got)
			}
			// SIPp's ACK: CSeq 1 on a branch of its own, the 407's To tag.
			ack := strings.Replace(strings.Replace(invite("z9hG4bK-ack", 1), "INVITE", "ACK", -1), "To: <sip:u1@example.com>", "To: <sip:u1@example.com>;tag=gw", 1)
			if _, err := c.Write([]byte(ack)); err != nil {
				t.Fatal(err)
			}
			select {
			case <-tx.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("the kept transaction did not end on the ACK")
			}
			if n := s.kept.n.Load(); n != 0 {
				t.Errorf("%d refused transactions still kept", n)
			}
		})
	}
}
