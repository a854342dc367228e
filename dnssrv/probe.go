package dnssrv

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Prober checks whether a target answers. It must return within ctx.
type Prober interface {
	Probe(ctx context.Context, t Target) error
}

// OptionsProber probes with SIP OPTIONS (RFC 3261 §11), as Kamailio's
// dispatcher does. Any final response means the target is alive except
// 408 and 5xx (and 503 holds it for its Retry-After); no response within
// the context is ErrFailoverTimeout.
type OptionsProber struct {
	// Client sends the requests; make it with sipgo.NewClient over the
	// gateway's user agent so probes leave from its listeners.
	Client *sipgo.Client
	// From is the From URI, as sip:switchboard@gw.example.com. Default:
	// what sipgo builds from the user agent.
	From string
	// LocalAddr, if set, names the listener a probe leaves from (see
	// TrunkOptions.LocalAddr).
	LocalAddr func(tp Transport, dst netip.AddrPort) (netip.AddrPort, bool)
}

// Probe sends one OPTIONS to t and waits for its final response.
func (p *OptionsProber) Probe(ctx context.Context, t Target) error {
	var uri sip.Uri
	if err := sip.ParseUri(t.URI(), &uri); err != nil {
		return fmt.Errorf("%w: %v", ErrBadTarget, err)
	}
	req := sip.NewRequest(sip.OPTIONS, uri)
	if p.From != "" {
		var from sip.Uri
		if err := sip.ParseUri(p.From, &from); err != nil {
			return fmt.Errorf("probe From %q: %w", p.From, err)
		}
		h := &sip.FromHeader{Address: from, Params: sip.NewParams()}
		h.Params.Add("tag", sip.GenerateTagN(16))
		req.AppendHeader(h)
	}
	req.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	req.SetDestination(t.HostPort())
	req.SetTransport(t.Transport.Network())
	setLaddr(req, t, p.LocalAddr)
	res, err := p.Client.Do(ctx, req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return ErrFailoverTimeout
		}
		return err
	}
	if res.StatusCode == 408 || res.StatusCode >= 500 && res.StatusCode < 600 {
		return statusError(res)
	}
	return nil
}

// statusError describes a failure response.
func statusError(res *sip.Response) *StatusError {
	return &StatusError{Code: res.StatusCode, Reason: res.Reason, RetryAfter: retryAfter(res)}
}

// retryAfter returns the delay of a Retry-After header (RFC 3261 §20.33:
// delta-seconds, then an optional comment and parameters), 0 without one.
// It is capped at one day.
func retryAfter(res *sip.Response) time.Duration {
	h := res.GetHeader("Retry-After")
	if h == nil {
		return 0
	}
	v := strings.TrimSpace(h.Value())
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(v[:end])
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(min(n, 86400)) * time.Second
}
