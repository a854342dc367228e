package pbx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

func startSim(t *testing.T, o Options) *Sim {
	t.Helper()
	s, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func uri(s *Sim, user string) sip.Uri {
	return sip.Uri{Scheme: "sip", User: user, Host: s.Addr().Addr().String(), Port: int(s.Addr().Port())}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func statusOf(err error) int {
	var de *sipgo.ErrDialogResponse
	if errors.As(err, &de) {
		return de.Res.StatusCode
	}
	return 0
}

func inbound(s *Sim) CallInfo {
	for _, c := range s.Calls() {
		if c.Direction == "in" {
			return c
		}
	}
	return CallInfo{}
}

// TestCallToneEcho: one simulator calls another; the callee echoes, the
// caller plays the tone, so both count RTP.
func TestCallToneEcho(t *testing.T) {
	callee := startSim(t, Options{Numbers: map[string]Number{"2000": {Action: Answer, Ring: 50 * time.Millisecond, Media: Echo}}})
	caller := startSim(t, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	oc, err := caller.Call(ctx, CallOptions{Target: uri(callee, "2000"), From: "0441234567"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "echoed RTP", func() bool { return oc.Info().Media.Received >= 10 })
	in := inbound(callee)
	if !in.Answered || in.From != "0441234567" || in.To != "2000" || in.Media.Received < 10 || in.Media.Sent < 10 {
		t.Errorf("callee's view %+v", in)
	}
	if err := oc.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "callee sees BYE", func() bool { return inbound(callee).Ended })
	if got := inbound(callee).EndedBy; got != "remote" {
		t.Errorf("EndedBy = %q", got)
	}
	if c := callee.Counters(); c.Invites != 1 || c.Byes != 1 {
		t.Errorf("counters %+v", c)
	}
}

func TestCallRefused(t *testing.T) {
	callee := startSim(t, Options{
		Numbers: map[string]Number{"486": {Action: Busy}, "503": {Action: Unavailable}},
		Default: Number{Action: NotFound},
	})
	caller := startSim(t, Options{})
	for num, want := range map[string]int{"486": 486, "503": 503, "999": 404} {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		_, err := caller.Call(ctx, CallOptions{Target: uri(callee, num)})
		cancel()
		if got := statusOf(err); got != want {
			t.Errorf("call %s: %v (status %d), want %d", num, err, got, want)
		}
	}
}

// TestEarlyMediaAndHangup: 183 with the tone while ringing, then the
// answer, then the PBX hangs up.
func TestEarlyMediaAndHangup(t *testing.T) {
	callee := startSim(t, Options{Numbers: map[string]Number{
		"183": {Action: Answer, Early: true, Ring: 500 * time.Millisecond, Media: Tone, HangupAfter: 300 * time.Millisecond},
	}})
	caller := startSim(t, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	oc, err := caller.Call(ctx, CallOptions{Target: uri(callee, "183"), Media: Silent})
	if err != nil {
		t.Fatal(err)
	}
	// 500 ms of early media at 50 packets/s arrived before the answer.
	if got := oc.Info().Media.Received; got < 10 {
		t.Errorf("early media packets before answer = %d, want about 25", got)
	}
	select {
	case <-oc.Done():
	case <-ctx.Done():
		t.Fatal("PBX did not hang up")
	}
	if got := oc.Info(); got.EndedBy != "remote" || !got.Ended {
		t.Errorf("caller's view %+v", got)
	}
}

func TestCancel(t *testing.T) {
	callee := startSim(t, Options{Default: Number{Action: NoAnswer}})
	caller := startSim(t, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	_, err := caller.Call(ctx, CallOptions{Target: uri(callee, "1")})
	if err == nil {
		t.Fatal("unanswered call succeeded")
	}
	waitFor(t, "callee sees CANCEL", func() bool { return inbound(callee).Canceled })
}

// TestRegisterDigest registers with sipgo's digest client, then with a
// wrong password, then unregisters.
func TestRegisterDigest(t *testing.T) {
	pbx := startSim(t, Options{Realm: "pbx.test", Users: map[string]string{"trunk": "s3cret"}})
	ua, _ := sipgo.NewUA(sipgo.WithUserAgentHostname("127.0.0.1"))
	defer ua.Close()
	client, _ := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	register := func(password string, expires int) int {
		req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: int(pbx.Addr().Port())})
		req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "trunk", Host: "pbx.test"}})
		req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "gw", Host: "127.0.0.1", Port: 5060}})
		req.AppendHeader(sip.NewHeader("Expires", fmt.Sprint(expires)))
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		res, err := client.Do(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode == 401 {
			res, err = client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: "trunk", Password: password})
			if err != nil {
				t.Fatal(err)
			}
		}
		return res.StatusCode
	}
	if got := register("s3cret", 600); got != 200 {
		t.Fatalf("REGISTER = %d, want 200", got)
	}
	regs := pbx.Registrations()
	if len(regs) != 1 || regs[0].AOR != "trunk@pbx.test" || regs[0].User != "trunk" || regs[0].Expires != 600 || !regs[0].Active(time.Now()) {
		t.Fatalf("registrations %+v", regs)
	}
	if got := register("wrong", 600); got != 403 {
		t.Errorf("REGISTER with a wrong password = %d, want 403", got)
	}
	if got := register("s3cret", 0); got != 200 {
		t.Fatalf("unREGISTER = %d", got)
	}
	if r := pbx.Registrations()[0]; r.Active(time.Now()) || r.Expires != 0 {
		t.Errorf("after unregister %+v", r)
	}
}

// TestModes: OPTIONS answered 200, then 503 with Retry-After, then not at
// all.
func TestModes(t *testing.T) {
	pbx := startSim(t, Options{RetryAfter: 30})
	ua, _ := sipgo.NewUA(sipgo.WithUserAgentHostname("127.0.0.1"))
	defer ua.Close()
	client, _ := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	options := func(timeout time.Duration) (*sip.Response, error) {
		req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: int(pbx.Addr().Port())})
		ctx, cancel := context.WithTimeout(t.Context(), timeout)
		defer cancel()
		return client.Do(ctx, req)
	}
	if res, err := options(5 * time.Second); err != nil || res.StatusCode != 200 {
		t.Fatalf("OPTIONS = %v, %v", res, err)
	}
	pbx.SetMode(Unavailable503)
	res, err := options(5 * time.Second)
	if err != nil || res.StatusCode != 503 || res.GetHeader("Retry-After") == nil {
		t.Fatalf("OPTIONS in 503 mode = %v, %v", res, err)
	}
	pbx.SetMode(Dead)
	if res, err := options(700 * time.Millisecond); err == nil {
		t.Fatalf("OPTIONS in dead mode answered %d", res.StatusCode)
	}
	if pbx.Counters().Dropped == 0 {
		t.Error("dead mode dropped nothing")
	}
	pbx.SetMode(Normal)
	if res, err := options(5 * time.Second); err != nil || res.StatusCode != 200 {
		t.Fatalf("OPTIONS back to normal = %v, %v", res, err)
	}
	for _, s := range []string{"normal", "503", "dead"} {
		m, err := ParseMode(s)
		if err != nil || m.String() != s {
			t.Errorf("ParseMode(%q) = %v, %v", s, m, err)
		}
	}
}

// TestBadOffer: an INVITE without usable SDP gets 488.
func TestBadOffer(t *testing.T) {
	pbx := startSim(t, Options{})
	ua, _ := sipgo.NewUA(sipgo.WithUserAgentHostname("127.0.0.1"))
	defer ua.Close()
	client, _ := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	d := sipgo.NewDialogClientCache(client, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: 5999}})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	sess, err := d.Invite(ctx, uri(pbx, "1"), []byte("not sdp"), sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.WaitAnswer(ctx, sipgo.AnswerOptions{}); statusOf(err) != 488 {
		t.Errorf("bad offer: %v, want 488", err)
	}
	_ = net.IPv4len
}
