package b2bua

import (
	"context"
	"net/netip"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/gateway/trunkreg"
)

// Credentials answer a trunk's digest challenges to our INVITEs
// (trunks[].auth, default trunks[].register).
type Credentials struct {
	User     string
	Password string
}

// maxAuthTries bounds the INVITEs of one branch sent again with
// credentials: one, and one more when the trunk says our nonce was stale
// (RFC 7616 §3.3). A trunk that challenges the credentials themselves
// again refused them.
const maxAuthTries = 2

// reauth answers a trunk's 401 or 407 to br's INVITE (RFC 3261 §22.2,
// §8.1.3.5): the INVITE goes again to the same server with CSeq + 1, the
// same Call-ID, From and To, a new Via branch, and Authorization or
// Proxy-Authorization computed with the trunk's credentials for the
// challenge's algorithm (MD5 or SHA-256, qop=auth: RFC 7616, RFC 8760).
// The new INVITE is a new branch of the fork; br is settled with the
// challenge. false means the challenge stands: no credentials, none of
// its algorithms known, or our credentials refused; the caller then gets
// 403 (classify).
func (c *call) reauth(ctx context.Context, f *fork, br *branch, res *sip.Response) bool {
	if br.d.trunk == nil || (res.StatusCode != 401 && res.StatusCode != 407) {
		return false
	}
	log := c.gw.log.With("trunk", br.d.trunk.Name(), "call_id", br.d.callID, "status", res.StatusCode)
	cred, ok := c.gw.live().TrunkAuth[br.d.trunk.Name()]
	if !ok || cred.User == "" {
		log.Warn("trunk asks for credentials and trunks[].auth has none")
		return false
	}
	challenge, authz := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		challenge, authz = "Proxy-Authenticate", "Proxy-Authorization"
	}
	var values []string
	for _, h := range res.GetHeaders(challenge) {
		values = append(values, h.Value())
	}
	ch, err := trunkreg.PickChallenge(values)
	if err != nil {
		log.Warn("trunk's challenge cannot be answered", "error", err)
		return false
	}
	if br.authTries >= maxAuthTries || (br.authTries > 0 && !ch.Stale) {
		log.Warn("trunk refused our credentials", "user", cred.User)
		return false
	}
	inv := br.inv.Clone()
	inv.CSeq().SeqNo++
	if via := inv.Via(); via != nil {
		via.Params.Add("branch", c.gw.newBranch()) // a new transaction (loop.go marks it ours)
	}
	inv.RemoveHeader("Authorization")
	inv.RemoveHeader("Proxy-Authorization")
	value, err := ch.Authorization(cred.User, cred.Password, string(sip.INVITE), inv.Recipient.String(), 1)
	if err != nil {
		log.Warn("answering the trunk's challenge", "error", err)
		return false
	}
	inv.AppendHeader(sip.NewHeader(authz, value))
	tx, err := c.gw.o.Client.TransactionRequest(ctx, inv)
	if err != nil {
		log.Info("INVITE with credentials not sent", "error", err)
		return false
	}
	f.settle(br, res.StatusCode, res.Reason)
	br.tx.Terminate() // it ACKed the challenge (RFC 3261 §17.1.1.3)
	log.Debug("INVITE sent again with credentials", "algorithm", ch.Algorithm)
	nb := br.follow(inv, tx)
	nb.authTries = br.authTries + 1
	f.add(nb, nil)
	return true
}

// prepareTrunk readies a copy of a B-leg INVITE for the trunk target t
// (dnssrv.Sender's Prepare): prepare, then the UDP listener it leaves
// from (Options.Listener), so the PBX sees the port it knows and answers
// and sends its in-dialog requests there (the dialog keeps it: legs.go).
func (b *B2BUA) prepareTrunk(req *sip.Request, t dnssrv.Target) {
	b.prepare(req, t)
	if la, ok := b.listener(t.Transport.Network(), t.Addr.Addr()); ok {
		req.Laddr = la
	}
}

// listener is Options.Listener when set.
func (b *B2BUA) listener(transport string, remote netip.Addr) (sip.Addr, bool) {
	if b.o.Listener == nil {
		return sip.Addr{}, false
	}
	return b.o.Listener(transport, remote)
}
