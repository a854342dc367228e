package e2e

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// TestCallMediaTimeout: an answered call over which no RTP flows either way
// for media.timeout is hung up on both legs, and its record says why.
func TestCallMediaTimeout(t *testing.T) {
	pbxBye := make(chan struct{}, 1)
	pbx := newSIPAgent(t, "127.0.0.2", func(a *sipAgent) {
		host, port, _ := net.SplitHostPort(a.addr)
		p, _ := strconv.Atoi(port)
		ds := sipgo.NewDialogServerCache(a.client, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: host, Port: p}})
		a.srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
			dlg, err := ds.ReadInvite(req, tx)
			if err != nil {
				return
			}
			_ = dlg.RespondSDP([]byte(pbxSDP))
		})
		a.srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = ds.ReadAck(req, tx) })
		a.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
			_ = ds.ReadBye(req, tx)
			pbxBye <- struct{}{}
		})
	})
	g := startGateway(t, pbxConfig(pbx.addr)+"media: {timeout: 2s}\n")
	ph := newPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
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
	// Nobody sends RTP: after 2 s both legs get a BYE.
	select {
	case <-pbxBye:
	case <-ctx.Done():
		t.Fatalf("the PBX got no BYE\n%s", g.log.String())
	}
	select {
	case <-s.Context().Done():
	case <-ctx.Done():
		t.Fatalf("the caller got no BYE\n%s", g.log.String())
	}
	g.waitLog(`cause=media_timeout`, 5*time.Second)
}
