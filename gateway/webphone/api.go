package webphone

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
	"github.com/switchboard-gw/switchboard/gateway/store"
)

// Config is what the page needs to register and call: the answer of
// GET /phone/api/config and of a successful login.
type Config struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name,omitempty"`
	Extension   string `json:"extension,omitempty"`
	// URI is the user's address of record, sip:username@domain.
	URI    string `json:"uri"`
	Domain string `json:"domain"`
	Realm  string `json:"realm"`
	// WSServers are the gateway's SIP-over-WebSocket URLs (RFC 7118),
	// wss:// only, as this request's client reaches them.
	WSServers  []string    `json:"ws_servers"`
	ICEServers []ICEServer `json:"ice_servers"`
	// JsSIP tells whether this build embeds the JsSIP bundle.
	JsSIP bool `json:"jssip"`
}

// configFor builds the phone's config for acct as the client of r sees
// the gateway.
func (h *Handler) configFor(r *http.Request, acct Account) Config {
	c := Config{
		Username: acct.Username, DisplayName: acct.DisplayName, Extension: acct.Extension,
		URI:    "sip:" + acct.Username + "@" + h.o.Domain,
		Domain: h.o.Domain, Realm: h.o.Realm,
		WSServers: h.wsURLs(r), ICEServers: h.iceServers(acct.Username), JsSIP: haveJsSIP(),
	}
	return c
}

func (h *Handler) iceServers(user string) []ICEServer {
	if h.o.ICEServers == nil {
		return []ICEServer{}
	}
	s := h.o.ICEServers(user)
	if s == nil {
		return []ICEServer{}
	}
	return s
}

// wsURLs returns the wss:// URLs of the bound listeners as the client of r
// reaches them: a listener on every address is reached on the host name
// the page was loaded from (the certificate names it); one bound to an
// address is reached there, unless the page's host is a name (which then
// resolves to it, and the certificate names it).
func (h *Handler) wsURLs(r *http.Request) []string {
	pageHost := r.Host
	if hh, _, err := net.SplitHostPort(r.Host); err == nil {
		pageHost = hh
	}
	pageHost = strings.Trim(pageHost, "[]")
	out := []string{}
	for _, l := range h.o.Listeners() {
		if l.Scheme != "wss" {
			continue
		}
		host, port, err := net.SplitHostPort(l.Addr)
		if err != nil {
			continue
		}
		if ip, err := netip.ParseAddr(host); err != nil || ip.IsUnspecified() || pageIsName(pageHost) {
			host = pageHost
		}
		path := l.Path
		if path == "" {
			path = "/"
		}
		u := url.URL{Scheme: "wss", Host: net.JoinHostPort(host, port), Path: path}
		out = append(out, u.String())
	}
	return out
}

// pageIsName reports whether the page's host is a DNS name (not an IP
// literal and not empty).
func pageIsName(host string) bool {
	if host == "" {
		return false
	}
	_, err := netip.ParseAddr(host)
	return err != nil
}

func (h *Handler) config(w http.ResponseWriter, r *http.Request, acct Account) {
	writeJSON(w, h.configFor(r, acct))
}

func (h *Handler) ice(w http.ResponseWriter, _ *http.Request, acct Account) {
	writeJSON(w, map[string]any{"ice_servers": h.iceServers(acct.Username)})
}

// CallsPage is the answer of GET /phone/api/calls.
type CallsPage struct {
	Calls []CallView `json:"calls"`
	// Next is the before= value of the next (older) page; empty on the
	// last page.
	Next string `json:"next,omitempty"`
}

// CallView is one call of the user's history.
type CallView struct {
	cdr.Record
	DurationS float64 `json:"duration_s"`
}

// calls answers GET /phone/api/calls?limit=&before=: the calls the user
// took part in (by username or extension), newest first.
func (h *Handler) calls(w http.ResponseWriter, r *http.Request, acct Account) {
	if h.o.History == nil {
		writeJSON(w, CallsPage{Calls: []CallView{}})
		return
	}
	q := store.CallQuery{Parties: []string{acct.Username}}
	if acct.Extension != "" && acct.Extension != acct.Username {
		q.Parties = append(q.Parties, acct.Extension)
	}
	v := r.URL.Query()
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > store.MaxCallLimit {
			problem(w, http.StatusBadRequest, "bad limit", "limit must be from 1 to "+strconv.Itoa(store.MaxCallLimit))
			return
		}
		q.Limit = n
	}
	if b := v.Get("before"); b != "" {
		ts, id, _ := strings.Cut(b, ",")
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil || len(id) > 512 {
			problem(w, http.StatusBadRequest, "bad before", "before must be an RFC 3339 time or the next value of a previous page")
			return
		}
		q.Before, q.BeforeID = t, id
	}
	recs, err := h.o.History.CallHistory(r.Context(), q)
	if errors.Is(err, store.ErrInvalid) {
		problem(w, http.StatusBadRequest, "bad query", err.Error())
		return
	}
	if err != nil {
		h.log.Error("web phone call history", "user", acct.Username, "error", err)
		problem(w, http.StatusInternalServerError, "store error", "the call history cannot be read now")
		return
	}
	page := CallsPage{Calls: make([]CallView, 0, len(recs))}
	for _, rec := range recs {
		page.Calls = append(page.Calls, CallView{Record: rec, DurationS: rec.Duration().Seconds()})
	}
	limit := q.Limit
	if limit == 0 {
		limit = store.DefaultCallLimit
	}
	if len(recs) == limit {
		last := recs[len(recs)-1]
		page.Next = last.Setup.UTC().Format(time.RFC3339Nano) + "," + last.ID
	}
	writeJSON(w, page)
}

func (h *Handler) notFound(w http.ResponseWriter, _ *http.Request) {
	noStore(w)
	problem(w, http.StatusNotFound, "not found", "no such web phone endpoint")
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// problem writes an RFC 9457 problem document.
func problem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail})
}
