package b2bua

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Answers a B-leg INVITE gets that the gateway acts on itself instead of
// relaying: a 422 (RFC 4028 §7.3: retry with the larger interval) and,
// when the trunk is configured for it, a 3xx (RFC 3261 §8.1.3.4:
// recursion on its Contacts).

// redirectState is what a call followed of 3xx responses.
type redirectState struct {
	to    string   // the number the call now goes to ("" = c.num)
	count int      // redirects followed
	tried []string // numbers already called, for loop protection
}

// retrySessionInterval sends br's INVITE again after its 422, with the
// Session-Expires and Min-SE the 422's Min-SE asks for (RFC 4028 §7.3),
// as a new branch of f. It reports false when there is nothing to retry
// (no usable Min-SE, or already retried once): the 422 is then relayed.
func (c *call) retrySessionInterval(ctx context.Context, f *fork, br *branch, res *sip.Response) bool {
	want := minSEOf(res)
	se, _, _ := sessionExpiresOf(br.inv)
	if want <= se || want <= minSE || br.retried422 {
		return false
	}
	r := br.inv.Clone()
	r.CSeq().SeqNo++ // RFC 3261 §8.1.3.5 idea: the same request again
	r.RemoveHeader("Session-Expires")
	r.RemoveHeader("Min-SE")
	r.AppendHeader(sip.NewHeader("Session-Expires", secs(want)))
	r.AppendHeader(sip.NewHeader("Min-SE", secs(want)))
	r.Laddr = br.inv.Laddr
	nb, err := c.resend(ctx, f, br, r)
	if err != nil {
		c.gw.log.Info("retry after 422 failed", "branch", br.label, "error", err)
		return false
	}
	nb.retried422 = true
	c.gw.log.Debug("INVITE retried after 422", "branch", br.label, "session_expires", want)
	return true
}

// resend sends r, a new INVITE for br's target, as a new branch of f: to
// br's trunk with failover, or on br's flow.
func (c *call) resend(ctx context.Context, f *fork, br *branch, r *sip.Request) (*branch, error) {
	if tr := br.d.trunk; tr != nil {
		res, err := c.gw.sender.Send(ctx, tr, r)
		if err != nil {
			return nil, err
		}
		nb := br.follow(res.Request, res.Tx)
		f.add(nb, res.Response)
		return nb, nil
	}
	r.Via().Params.Add("branch", c.gw.newBranch())
	r.SetDestination(br.inv.Destination())
	nb := br.follow(r, nil)
	return nb, f.send(ctx, nb)
}

// followRedirect returns the number a trunk's 3xx (err, relayedError)
// sends the call to when trunk settings say to follow it: the best
// Contact (highest q, RFC 3261 §20.10) not yet called, within
// trunks[].follow_redirects. The new target is routed and admitted by
// the caller (run).
func (c *call) followRedirect(tgt target, err error) (string, bool) {
	var re *relayedError
	if tgt.trunk == nil || !errors.As(err, &re) || re.se.code < 300 || re.se.code >= 400 {
		return "", false
	}
	if c.redirect.count >= c.gw.trunkSettings(tgt.trunk.Name()).FollowRedirects {
		return "", false
	}
	var cts []*sip.ContactHeader
	for _, h := range re.hs {
		if strings.EqualFold(h.Name(), "Contact") {
			if ct, ok := redirectContact(h); ok {
				cts = append(cts, ct)
			}
		}
	}
	slices.SortStableFunc(cts, func(a, b *sip.ContactHeader) int { return cmp.Compare(qOf(b), qOf(a)) })
	if len(c.redirect.tried) == 0 {
		c.redirect.tried = append(c.redirect.tried, c.num)
	}
	for _, ct := range cts {
		n := strings.TrimSpace(ct.Address.User)
		if n == "" || slices.Contains(c.redirect.tried, n) {
			continue // a loop: never the same number twice
		}
		c.redirect.tried = append(c.redirect.tried, n)
		c.redirect.count++
		return n, true
	}
	return "", false
}

// qOf is a Contact's q parameter, 1 when absent (RFC 3261 §20.10).
func qOf(ct *sip.ContactHeader) float64 {
	v, ok := ct.Params.Get("q")
	if !ok {
		return 1
	}
	q, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0
	}
	return q
}
