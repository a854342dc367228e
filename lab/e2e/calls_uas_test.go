package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// sipgo phones and PBXs for the call flows SIPp scenarios cannot script
// easily: CANCEL, BYE from the PBX, a dead trunk, malformed SDP.

const phoneSDP = "v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
	"m=audio 30000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"

const pbxSDP = "v=0\r\no=pbx 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n" +
	"m=audio 30002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

// sipAgent is a sipgo user agent listening on UDP host:port.
type sipAgent struct {
	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	addr   string
}

// newSIPAgent starts an agent; setup registers its handlers before it
// listens (sipgo's handler maps are not safe to change while serving).
func newSIPAgent(t *testing.T, host string, setup func(*sipAgent)) *sipAgent {
	t.Helper()
	port := freeUDPPort(t, host)
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname(host))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname(host))
	if err != nil {
		t.Fatal(err)
	}
	a := &sipAgent{ua: ua, srv: srv, client: client, addr: net.JoinHostPort(host, strconv.Itoa(port))}
	if setup != nil {
		setup(a)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	go func() {
		_ = srv.ListenAndServe(context.WithValue(ctx, sipgo.ListenReadyCtxKey, sipgo.ListenReadyCtxValue(ready)), "udp", a.addr)
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("sip agent did not start")
	}
	t.Cleanup(func() { cancel(); _ = ua.Close() })
	return a
}

// newPhone starts an agent on 127.0.0.1 with a dialog client for calls
// from u1000.
func newPhone(t *testing.T) *sipgo.DialogClientCache {
	var d *sipgo.DialogClientCache
	newSIPAgent(t, "127.0.0.1", func(a *sipAgent) { d = a.phone() })
	return d
}

// phone makes a dialog client for calls from u1000.
func (a *sipAgent) phone() *sipgo.DialogClientCache {
	host, port, _ := net.SplitHostPort(a.addr)
	p, _ := strconv.Atoi(port)
	d := sipgo.NewDialogClientCache(a.client, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "u1000", Host: host, Port: p}})
	a.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) { _ = d.ReadBye(req, tx) })
	return d
}

// call sends an INVITE for number from u1000 through the gateway at gw.
func call(ctx context.Context, d *sipgo.DialogClientCache, gw, number string, body string) (*sipgo.DialogClientSession, error) {
	host, port, _ := net.SplitHostPort(gw)
	p, _ := strconv.Atoi(port)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "u1000", Host: "example.com"}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	return d.Invite(ctx, sip.Uri{Scheme: "sip", User: number, Host: host, Port: p}, []byte(body),
		from, sip.NewHeader("Content-Type", "application/sdp"))
}

func answerOpts() sipgo.AnswerOptions {
	return sipgo.AnswerOptions{Username: "u1000", Password: "secret"}
}

func responseCode(err error) int {
	var e *sipgo.ErrDialogResponse
	if errors.As(err, &e) {
		return e.Res.StatusCode
	}
	return 0
}

// pbxConfig is callsConfig for a sipgo PBX at addr.
func pbxConfig(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return callsConfig(p)
}

// TestCallCancel: CANCEL before the answer cancels the trunk leg; the
// caller gets 487.
func TestCallCancel(t *testing.T) {
	cancelled := make(chan struct{}, 1)
	pbx := newSIPAgent(t, "127.0.0.2", func(a *sipAgent) {
		a.srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
			if st, ok := tx.(interface{ OnCancel(sip.FnTxCancel) bool }); ok {
				st.OnCancel(func(*sip.Request) { cancelled <- struct{}{} })
			}
			_ = tx.Respond(sip.NewResponseFromRequest(req, 180, "Ringing", nil))
			<-tx.Done()
		})
	})
	g := startGateway(t, pbxConfig(pbx.addr))
	ph := newPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := call(ctx, ph, g.UDP, "2000", phoneSDP)
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	opts := answerOpts()
	opts.OnResponse = func(res *sip.Response) error {
		if res.StatusCode == 180 {
			stop() // CANCEL (RFC 3261 §9.1)
		}
		return nil
	}
	err = s.WaitAnswer(wctx, opts)
	if err == nil {
		t.Fatal("call answered, want cancelled")
	}
	if code := responseCode(err); code != 0 && code != 487 {
		t.Fatalf("caller got %d, want 487", code)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatalf("trunk leg not cancelled (caller: %v)\n%s", err, g.log.String())
	}
}

// TestCallByeFromTrunk: the PBX answers, then hangs up; the caller gets
// the BYE.
func TestCallByeFromTrunk(t *testing.T) {
	byeErr := make(chan error, 1)
	pbx := newSIPAgent(t, "127.0.0.2", func(a *sipAgent) {
		host, port, _ := net.SplitHostPort(a.addr)
		p, _ := strconv.Atoi(port)
		ds := sipgo.NewDialogServerCache(a.client, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: host, Port: p}})
		a.srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
			dlg, err := ds.ReadInvite(req, tx)
			if err != nil {
				byeErr <- err
				return
			}
			if err := dlg.RespondSDP([]byte(pbxSDP)); err != nil {
				byeErr <- err
				return
			}
			time.Sleep(300 * time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			byeErr <- agentBye(ctx, dlg, a.addr) // from the PBX's address (peer.go)
		})
		a.srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = ds.ReadAck(req, tx) })
	})
	g := startGateway(t, pbxConfig(pbx.addr))
	ph := newPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := call(ctx, ph, g.UDP, "2000", phoneSDP)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitAnswer(ctx, answerOpts()); err != nil {
		t.Fatalf("answer: %v", err)
	}
	if err := s.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-byeErr:
		if err != nil {
			t.Fatalf("PBX BYE: %v", err)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("PBX BYE not answered")
	}
	select {
	case <-s.Context().Done(): // the caller's dialog ended on the BYE
	case <-time.After(5 * time.Second):
		t.Fatalf("caller got no BYE\n%s", g.log.String())
	}
	g.waitLog(`msg="call ended"`, 5*time.Second)
}

// TestCallErrors: failures map to final responses.
func TestCallErrors(t *testing.T) {
	dead := freeUDPPort(t, "127.0.0.2") // nothing listens: every target times out
	g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
security: {trusted_callers: [127.0.0.0/8], exempt_sources: [127.0.0.0/8]}
trunks:
  - {name: pbx, target: "sip:127.0.0.2:%d", failover_timeout: 300ms, timeout: 2s, probe: {interval: 0s}, match: ["2000"]}
`, dead))
	ph := newPhone(t)
	for _, tt := range []struct {
		name, number, body string
		want               int
	}{
		{"trunk down", "2000", phoneSDP, 503},
		{"malformed SDP", "2000", "v=0\r\nthis is not sdp\r\n", 488},
		{"no route", "3000", phoneSDP, 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := call(ctx, ph, g.UDP, tt.number, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			err = s.WaitAnswer(ctx, answerOpts())
			if code := responseCode(err); code != tt.want {
				t.Fatalf("got %v, want %d", err, tt.want)
			}
			if tt.want == 488 {
				var e *sipgo.ErrDialogResponse
				errors.As(err, &e)
				if e.Res.GetHeader("Warning") == nil {
					t.Errorf("488 without Warning:\n%s", e.Res)
				}
			}
		})
	}
}
