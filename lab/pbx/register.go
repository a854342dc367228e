package pbx

import (
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/gateway/digest"
)

// Registration is the last REGISTER accepted for one address-of-record.
type Registration struct {
	AOR       string    `json:"aor"`
	User      string    `json:"user"` // authenticated username, "" without auth
	Contact   string    `json:"contact"`
	Expires   int       `json:"expires"` // seconds granted; 0 after an unregister
	Source    string    `json:"source"`
	At        time.Time `json:"at"`
	Count     int       `json:"count"`     // REGISTERs accepted for this AOR
	CallID    string    `json:"call_id"`   // of the last one
	CSeq      uint32    `json:"cseq"`      // of the last one
	Algorithm string    `json:"algorithm"` // digest algorithm used
}

// Active reports whether the binding is still in force at now.
func (r Registration) Active(now time.Time) bool {
	return r.Expires > 0 && now.Before(r.At.Add(time.Duration(r.Expires)*time.Second))
}

// Registrations returns the registrations seen, by AOR.
func (s *Sim) Registrations() []Registration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Registration, 0, len(s.regs))
	for _, r := range s.regs {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AOR < out[j].AOR })
	return out
}

// onRegister is a small registrar (RFC 3261 §10.3): digest authentication
// when Users are set (RFC 7616, SHA-256 and MD5 per RFC 8760), one contact
// per AOR, the Expires header or contact parameter granted as asked
// (0 removes).
func (s *Sim) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	s.registers.Add(1)
	if s.unavailable(req, tx) {
		return
	}
	user, alg := "", ""
	if s.auth != nil {
		h := req.GetHeader("Authorization")
		var cred digest.Credentials
		var err error
		if h != nil {
			cred, err = digest.ParseCredentials(h.Value())
		}
		if h == nil || err != nil {
			s.challenge(req, tx, false)
			return
		}
		err = s.auth.Verify(cred, "REGISTER", func(username, algorithm string) (string, bool) {
			pw, ok := s.o.Users[username]
			if !ok {
				return "", false
			}
			ha1, err := digest.HA1(algorithm, username, s.o.Realm, pw)
			return ha1, err == nil
		})
		switch {
		case err == nil:
			user, alg = cred.Username, cred.Algorithm
		case errors.Is(err, digest.ErrStale):
			s.challenge(req, tx, true)
			return
		default:
			s.respond(req, tx, 403, "Forbidden")
			s.log.Info("register refused", "user", cred.Username, "error", err)
			return
		}
	}
	to := req.To()
	if to == nil {
		s.respond(req, tx, 400, "Bad Request")
		return
	}
	aor := to.Address.User + "@" + to.Address.Host
	expires := 3600
	if h := req.GetHeader("Expires"); h != nil {
		if v, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil {
			expires = v
		}
	}
	ct := req.Contact()
	contact := ""
	if ct != nil {
		contact = ct.Address.String()
		if v, ok := ct.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil {
				expires = n
			}
		}
	} else if h := req.GetHeader("Contact"); h != nil && strings.TrimSpace(h.Value()) == "*" {
		expires = 0
	}
	if expires > 0 && expires < s.o.MinExpires {
		res := sip.NewResponseFromRequest(req, 423, "Interval Too Brief", nil)
		res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(s.o.MinExpires)))
		_ = tx.Respond(res)
		return
	}
	s.mu.Lock()
	r := s.regs[aor]
	if r == nil {
		r = &Registration{AOR: aor}
		s.regs[aor] = r
	}
	r.User, r.Contact, r.Expires, r.Source, r.At = user, contact, expires, req.Source(), time.Now()
	r.Count++
	r.CallID, r.CSeq, r.Algorithm = req.CallID().Value(), req.CSeq().SeqNo, alg
	s.mu.Unlock()
	s.log.Info("registered", "aor", aor, "contact", contact, "expires", expires, "algorithm", alg)

	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	if ct != nil && expires > 0 {
		c := ct.Clone()
		c.Params = c.Params.Clone()
		c.Params.Add("expires", strconv.Itoa(expires))
		res.AppendHeader(c)
	}
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	_ = tx.Respond(res)
}

// challenge answers 401 with one WWW-Authenticate per algorithm.
func (s *Sim) challenge(req *sip.Request, tx sip.ServerTransaction, stale bool) {
	res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
	for _, c := range s.auth.Challenges(stale) {
		res.AppendHeader(sip.NewHeader("WWW-Authenticate", c))
	}
	_ = tx.Respond(res)
}
