package registrar

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/gateway/sipauth"
	"github.com/switchboard-gw/switchboard/gateway/store"
)

// update applies the contacts of one authenticated REGISTER to aor
// (RFC 3261 §10.3 steps 6-8): it computes the new binding set under the AOR's
// lock, makes the changes durable, applies them in memory and answers with
// every current binding.
func (r *Registrar) update(ctx context.Context, req *sip.Request, hs *regHeaders, aor string, contacts []contact, wildcard bool) *sip.Response {
	now := r.o.Now()
	callID := req.CallID().Value()
	cseq := req.CSeq().SeqNo
	supported := tags(hs.supported)
	outbound := false

	rec := r.loc.lock(aor)
	defer rec.mu.Unlock()

	current := live(rec.bindings, now)
	next := slices.Clone(current)
	var changes []store.BindingChange
	deleteAt := func(i int) {
		changes = append(changes, store.BindingChange{Delete: &store.BindingKey{AOR: aor, Key: next[i].Key()}})
		next = slices.Delete(next, i, i+1)
	}

	if wildcard {
		// §10.3 step 6: "*" removes every binding, unless one of them comes
		// from the same Call-ID with a CSeq not lower than this request's.
		for _, b := range next {
			if b.CallID == callID && cseq <= b.CSeq {
				return r.reply(req, sip.StatusInternalServerError, "Out Of Order")
			}
		}
		for len(next) > 0 {
			deleteAt(0)
		}
	}

	path := r.path(req, hs)
	keep := map[string]bool{}
	for _, c := range contacts {
		key := c.key()
		keep[key] = true
		if c.instanceID != "" && c.regID > 0 && supported["outbound"] {
			outbound = true
		}
		i := slices.IndexFunc(next, func(b store.Binding) bool { return b.Key() == key })
		if i >= 0 {
			b := next[i]
			// §10.3 step 7: same Call-ID with an older or equal CSeq is a
			// stale request. RFC 5626 §6: a new Call-ID for the same
			// instance and reg-id replaces the flow.
			if b.CallID == callID && cseq <= b.CSeq {
				return r.reply(req, sip.StatusInternalServerError, "Out Of Order")
			}
			if c.expires == 0 {
				deleteAt(i)
				continue
			}
		} else if c.expires == 0 {
			continue
		}
		nb := store.Binding{
			AOR:        aor,
			ContactURI: c.uri,
			Params:     c.params,
			Q:          c.q,
			Expires:    now.Add(time.Duration(c.expires) * time.Second),
			CallID:     callID,
			CSeq:       cseq,
			InstanceID: c.instanceID,
			RegID:      c.regID,
			Path:       path,
			Source:     req.Source(),
			Transport:  strings.ToLower(req.Transport()),
			LocalAddr:  localAddr(req),
			UserAgent:  value(hs.userAgent),
			UpdatedAt:  now,
		}
		if i >= 0 {
			next[i] = nb
		} else {
			next = append(next, nb)
		}
		changes = append(changes, store.BindingChange{Put: &nb})
	}

	// Too many contacts: the bindings closest to expiry that this request did
	// not name are dropped, so a phone that rebooted with a new Call-ID does
	// not lock its user out until the old binding expires.
	for len(next) > r.o.MaxContacts {
		victim := -1
		for i, b := range next {
			if keep[b.Key()] {
				continue
			}
			if victim < 0 || b.Expires.Before(next[victim].Expires) {
				victim = i
			}
		}
		if victim < 0 {
			r.count(func(s *Stats) { s.Rejected++ })
			return r.reply(req, sip.StatusForbidden, "Too Many Contacts")
		}
		deleteAt(victim)
	}

	if len(changes) > 0 {
		if err := r.o.Persist.Apply(ctx, changes...); err != nil {
			r.count(func(s *Stats) { s.StoreErrors++ })
			r.log.Error("persisting bindings", "aor", aor, "error", err)
			res := r.reply(req, sip.StatusServiceUnavailable, "Service Unavailable")
			res.AppendHeader(sip.NewHeader("Retry-After", "5"))
			return res
		}
	}
	rec.bindings = next
	if len(changes) > 0 && r.o.OnBindings != nil {
		r.o.OnBindings(aor, len(next))
	}
	r.count(func(s *Stats) {
		if len(next) == 0 && len(changes) > 0 {
			s.Unregistered++
		} else {
			s.Registered++
		}
	})

	res := r.reply(req, sip.StatusOK, "OK")
	for _, b := range next {
		res.AppendHeader(sip.NewHeader("Contact", contactValue(b.ContactURI, b.Params, b.Q, b.Expires, now)))
	}
	// RFC 3327 §5.3: the Path the registrar stored is echoed when supported.
	if len(path) > 0 && supported["path"] {
		res.AppendHeader(sip.NewHeader("Path", strings.Join(path, ", ")))
	}
	if outbound {
		res.AppendHeader(sip.NewHeader("Require", "outbound")) // RFC 5626 §6
	}
	res.AppendHeader(sip.NewHeader("Supported", "path, outbound"))
	res.AppendHeader(sip.NewHeader("Date", now.UTC().Format(http.TimeFormat)))
	return res
}

// path returns the Path to store for req (RFC 3327 §5.3): the values of its
// Path headers when it comes from a configured edge proxy, else nothing.
// From anyone else a Path would let the registering party route the user's
// calls through a host of its choosing, so it is ignored (logged).
func (r *Registrar) path(req *sip.Request, hs *regHeaders) []string {
	if len(hs.path) == 0 {
		return nil
	}
	if r.o.EdgeProxies == nil || !r.o.EdgeProxies(sipauth.SourceIP(req)) {
		r.log.Info("path ignored: not from an edge proxy (registrar.edge_proxies)", "source", req.Source(),
			"path", hs.path[0].Value())
		return nil
	}
	var path []string
	for _, h := range hs.path {
		path = append(path, splitList(h.Value())...)
	}
	return path
}

// localAddr is our side of the flow the request came on, when the transport
// told us (the stateless UDP path does).
func localAddr(req *sip.Request) string {
	if req.Laddr.IP == nil {
		return ""
	}
	return net.JoinHostPort(req.Laddr.IP.String(), strconv.Itoa(req.Laddr.Port))
}
