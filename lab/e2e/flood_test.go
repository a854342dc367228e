package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// floodSecurity turns rate limits and bans off, so what these tests see is
// the bounds of the gateway's own state, not the guard dropping the
// attacker early.
const floodSecurity = "security:\n  rate_limit: {requests_per_second: 0}\n  ban: {failures: 0}\n"

// requireMetric is metric (records_test.go): it fails the test when the
// gateway does not export name.
func (g *gateway) requireMetric(name string) float64 {
	g.t.Helper()
	return g.metric(name)
}

// TestFloodBadCredentialsLeavesNoState floods REGISTERs with a valid nonce
// and wrong passwords from 127.0.0.9, each a new transaction: every one
// is refused, and the stateless answer cache holds none of the refusals
// (it used to keep each 403 for 32 s, so memory grew with the flood).
func TestFloodBadCredentialsLeavesNoState(t *testing.T) {
	g := startGateway(t, floodSecurity)
	c := dialSIP(t, "udp", "127.0.0.9", g.UDP)
	ch := c.roundTrip(c.request("REGISTER", "sip:example.com", "u1000", c.contact("u1000")))
	if ch.Status != 401 {
		t.Fatalf("first REGISTER: %d", ch.Status)
	}
	const n = 1000
	refused := 0
	for i := range n {
		auth, err := digestAuthorization(ch.Headers["www-authenticate"], "REGISTER", "sip:example.com", "u1000", fmt.Sprintf("guess%d", i))
		if err != nil {
			t.Fatal(err)
		}
		c.send(c.request("REGISTER", "sip:example.com", "u1000", c.contact("u1000"), "Authorization: "+auth))
		res, err := c.read(5 * time.Second)
		if err != nil {
			t.Fatalf("request %d unanswered: %v", i, err)
		}
		if res.Status == 403 || res.Status == 401 {
			refused++
		}
	}
	if refused != n {
		t.Fatalf("%d of %d guesses refused", refused, n)
	}
	if e := g.requireMetric("switchboard_sip_answer_cache_entries"); e > 10 {
		t.Errorf("answer cache holds %v entries after %d refused guesses; refusals must not be kept", e, n)
	}
	g.requireAlive()
}

// TestAnswerCacheBounded registers more times than the answer cache may
// hold (sip.limits.answer_cache_entries: 50): the 2xx answers are kept up
// to the bound and no further.
func TestAnswerCacheBounded(t *testing.T) {
	g := startGatewaySIP(t, "limits: {answer_cache_entries: 50}", floodSecurity)
	c := dialSIP(t, "udp", "127.0.0.9", g.UDP)
	for i := range 120 {
		if res := c.register("u1000", "secret"); res.Status != 200 {
			t.Fatalf("register %d: %d %s", i, res.Status, res.Reason)
		}
	}
	if e := g.requireMetric("switchboard_sip_answer_cache_entries"); e > 50 {
		t.Errorf("answer cache holds %v entries, bound 50", e)
	}
	if s := g.requireMetric("switchboard_sip_answer_cache_skipped_total"); s < 60 {
		t.Errorf("skipped %v answers, want at least 60 of 120 past the bound", s)
	}
}

// TestFloodPoolFull503 bursts REGISTERs at a gateway with one worker and
// one queue slot (sip.limits): what does not fit is answered 503 with
// Retry-After at once (RFC 3261 §21.5.4) instead of queueing without bound.
func TestFloodPoolFull503(t *testing.T) {
	g := startGatewaySIP(t, "limits: {workers: 1, queue: 1, retry_after: 7s}", floodSecurity)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 9)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadBuffer(8 << 20)
	to, err := net.ResolveUDPAddr("udp", g.UDP)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	for i := range n {
		msg := buildRequest("UDP", conn.LocalAddr().String(), "REGISTER", "sip:example.com", "u1000",
			fmt.Sprintf("burst-%d", i), "t1", 1, []string{fmt.Sprintf("Contact: <sip:u1000@%s>", conn.LocalAddr())})
		if _, err := conn.WriteToUDP([]byte(msg), to); err != nil {
			t.Fatal(err)
		}
	}
	got := map[int]int{}
	retryAfter := ""
	buf := make([]byte, 65535)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		k, _, err := conn.ReadFromUDP(buf)
		if err != nil {
			break
		}
		res, err := parseResponse(string(buf[:k]))
		if err != nil {
			continue
		}
		got[res.Status]++
		if res.Status == 503 {
			retryAfter = res.get("Retry-After")
		}
	}
	t.Logf("answers to %d REGISTERs: %v", n, got)
	if got[503] == 0 || retryAfter != "7" {
		t.Fatalf("no 503 with Retry-After: 7 for a burst of %d REGISTERs at 1 worker + 1 queued (answers %v)", n, got)
	}
	if got[401] == 0 {
		t.Errorf("no REGISTER was served: %v", got)
	}
	if o := g.requireMetric("switchboard_sip_overloaded_total"); o < float64(got[503]) {
		t.Errorf("overloaded_total %v < 503s seen %d", o, got[503])
	}
	// The pool drains: a REGISTER after the burst is served.
	c := dialSIP(t, "udp", "127.0.0.1", g.UDP)
	if res := c.register("u1000", "secret"); res.Status != 200 {
		t.Fatalf("after the burst: %d %s", res.Status, res.Reason)
	}
}

// TestConnectionCaps: sources under their per-source limit together may
// not hold more than sip.limits.max_connections; and a connection that
// never carried a successful REGISTER or INVITE is closed after
// sip.limits.unproven_idle_timeout although it sends CRLF keepalives,
// while a registered phone's flow stays.
func TestConnectionCaps(t *testing.T) {
	g := startGatewaySIP(t, "limits: {max_connections: 4, unproven_idle_timeout: 1s}", floodSecurity)
	phone := dialSIP(t, "tcp", "127.0.0.1", g.TCP)
	if res := phone.register("u1000", "secret"); res.Status != 200 {
		t.Fatalf("register: %d", res.Status)
	}
	var scanners []*sipConn
	for _, ip := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		s := dialSIP(t, "tcp", ip, g.TCP)
		if res := s.roundTrip(s.request("OPTIONS", "sip:example.com", "scan")); res.Status != 200 {
			t.Fatalf("OPTIONS: %d", res.Status)
		}
		scanners = append(scanners, s)
	}
	// The fifth connection is over the global cap.
	late := dialSIP(t, "tcp", "127.0.0.5", g.TCP)
	_ = late.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := late.conn.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("connection over max_connections not closed: %v", err)
	}
	// Keepalives do not keep the scanners' connections open; the phone's
	// registered flow stays.
	deadline := time.Now().Add(15 * time.Second)
	closed := 0
	for closed < len(scanners) && time.Now().Before(deadline) {
		closed = 0
		for _, s := range scanners {
			_ = s.conn.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := s.conn.Write([]byte("\r\n\r\n")); err != nil {
				closed++
				continue
			}
			_ = s.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			if _, err := s.br.ReadByte(); err != nil && !isTimeout(err) {
				closed++
			}
		}
		phone.send("\r\n\r\n")
		time.Sleep(200 * time.Millisecond)
	}
	if closed < len(scanners) {
		t.Fatalf("%d of %d unproven connections still open after keepalives for 15s", len(scanners)-closed, len(scanners))
	}
	if res := phone.roundTrip(phone.request("OPTIONS", "sip:example.com", "u1000")); res.Status != 200 {
		t.Fatalf("registered phone's flow: %d", res.Status)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestAdminAPIFromOtherHost: every API route needs an account, so the
// HTTPS port serves other hosts too: from 127.0.0.9 with the admin's
// credentials the API answers, without them it answers 401.
func TestAdminAPIFromOtherHost(t *testing.T) {
	g := startGateway(t, "")
	for _, ip := range []string{"127.0.0.9", "127.0.0.1"} {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DialContext: d.DialContext, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // self-signed
		for _, path := range []string{"/api/v1/registrations", "/api/v1/bans"} {
			for _, auth := range []bool{true, false} {
				req, _ := http.NewRequest("GET", "https://"+g.HTTP+path, nil)
				want := http.StatusUnauthorized
				if auth {
					g.authorize(req)
					want = http.StatusOK
				}
				res, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, bufio.NewReader(res.Body))
				res.Body.Close()
				if res.StatusCode != want {
					t.Errorf("GET %s from %s (credentials %v): %d, want %d", path, ip, auth, res.StatusCode, want)
				}
			}
		}
	}
}

// TestRefusedFloodTransactionsBounded floods BYEs for dialogs that do not
// exist from 127.0.0.9 (what SIPp's aborted calls and scanners send): each
// is refused (481) and used to be kept for Timer J (32 s) to absorb
// retransmissions. Past sip.limits.max_transactions refusals end at once,
// so the transactions alive stay near the bound instead of growing with
// rate × 32 s.
func TestRefusedFloodTransactionsBounded(t *testing.T) {
	g := startGatewaySIP(t, "limits: {max_transactions: 50}", floodSecurity)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 9)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadBuffer(4 << 20)
	to, err := net.ResolveUDPAddr("udp", g.UDP)
	if err != nil {
		t.Fatal(err)
	}
	const n = 500
	buf := make([]byte, 65535)
	refused := 0
	for i := range n {
		msg := buildRequest("UDP", conn.LocalAddr().String(), "BYE", "sip:u1000@example.com", "u1000",
			fmt.Sprintf("bye-%d", i), "t1", 2, nil)
		msg = strings.Replace(msg, "To: <sip:u1000@example.com>", "To: <sip:u1000@example.com>;tag=nosuch", 1)
		if _, err := conn.WriteToUDP([]byte(msg), to); err != nil {
			t.Fatal(err)
		}
		for {
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			k, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				t.Fatalf("BYE %d unanswered: %v", i, err)
			}
			res, err := parseResponse(string(buf[:k]))
			if err != nil || res.Status < 200 {
				continue
			}
			if res.Status >= 400 {
				refused++
			}
			break
		}
	}
	if refused != n {
		t.Fatalf("%d of %d BYEs refused", refused, n)
	}
	if live := g.requireMetric("switchboard_sip_transactions"); live > 60 {
		t.Errorf("%v transactions alive after %d refusals; bound 50", live, n)
	}
	if shed := g.requireMetric("switchboard_sip_transactions_shed_total"); shed < n-60 {
		t.Errorf("shed %v refusals, want at least %d", shed, n-60)
	}
}
