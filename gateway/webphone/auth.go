package webphone

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

// Limits of what a client may send as credentials.
const (
	maxUsername  = 128
	maxPassword  = 256
	maxLoginBody = 4 << 10
)

// cookieName is the session cookie (Path /phone, Secure, HttpOnly,
// SameSite=Strict).
const cookieName = "sb_phone"

// requestedWith is the header the page sends on its API requests; with it
// a 401 names the scheme "Session" instead of Basic, so that the browser
// shows the page's own error instead of its Basic login dialog.
const requestedWith = "X-Switchboard-Phone"

// verify checks username and password against the stored HA1 for the
// realm. Unknown users cost the same as wrong passwords: an HA1 is
// computed and compared in constant time either way.
func (h *Handler) verify(username, password string) (Account, error) {
	got := store.HA1MD5(username, h.o.Realm, password)
	acct, ok := h.o.Accounts(username)
	want := h.dummyHA1
	if ok && acct.HA1MD5 != "" {
		want = acct.HA1MD5
	}
	match := subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
	if !ok || acct.HA1MD5 == "" || !match {
		return Account{}, ErrBadCredentials
	}
	return acct, nil
}

// attempt runs verify for a request from ip, after the ban and failure
// limit checks, and reports the outcome to the guard.
func (h *Handler) attempt(ip netip.Addr, username, password string) (Account, error) {
	if err := h.refused(ip); err != nil {
		h.limited.Add(1)
		return Account{}, err
	}
	acct, err := h.verify(username, password)
	if err != nil {
		h.loginsFailed.Add(1)
		h.limit.fail(ip, h.o.Now())
		if h.o.Guard != nil && ip.IsValid() {
			// An HTTPS source cannot be spoofed: every failure is evidence
			// (as sipauth counts failures over TCP/TLS/WS).
			h.o.Guard.AuthFailed(ip, username)
		}
		h.log.Info("web phone login failed", "source", ip, "user", username)
		return Account{}, err
	}
	h.loginsOK.Add(1)
	if h.o.Guard != nil && ip.IsValid() {
		h.o.Guard.AuthSucceeded(ip, username)
	}
	return acct, nil
}

// refused returns ErrBanned or ErrLimited when ip may not try now.
func (h *Handler) refused(ip netip.Addr) error {
	if h.o.Guard != nil && ip.IsValid() && h.o.Guard.Banned(ip) {
		return ErrBanned
	}
	if !h.limit.allowed(ip, h.o.Now()) {
		return ErrLimited
	}
	return nil
}

// parseBasic reads an RFC 7617 Basic Authorization header value. ok is
// false when the header is absent or of another scheme; err is
// ErrMalformed when it is Basic but unreadable.
func parseBasic(v string) (user, pass string, ok bool, err error) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", false, nil
	}
	rest = strings.TrimSpace(rest)
	if len(rest) > 2*(maxUsername+maxPassword) {
		return "", "", true, fmt.Errorf("%w: basic credentials too long", ErrMalformed)
	}
	raw, derr := base64.StdEncoding.DecodeString(rest)
	if derr != nil {
		return "", "", true, fmt.Errorf("%w: basic credentials: %w", ErrMalformed, derr)
	}
	// RFC 7617 §2: user-id and password separated by the first colon;
	// the user-id cannot contain one.
	u, p, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", true, fmt.Errorf("%w: basic credentials without a colon", ErrMalformed)
	}
	if err := checkCredentials(u, p); err != nil {
		return "", "", true, err
	}
	return u, p, true, nil
}

// loginRequest is the body of POST /phone/api/login.
type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// parseLogin reads a login body: a JSON object with username and
// password, at most maxLoginBody bytes, nothing after it.
func parseLogin(r io.Reader) (loginRequest, error) {
	var req loginRequest
	body, err := io.ReadAll(io.LimitReader(r, maxLoginBody+1))
	if err != nil {
		return req, fmt.Errorf("%w: reading the body: %w", ErrMalformed, err)
	}
	if len(body) > maxLoginBody {
		return req, fmt.Errorf("%w: body over %d bytes", ErrMalformed, maxLoginBody)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if dec.More() {
		return req, fmt.Errorf("%w: data after the JSON object", ErrMalformed)
	}
	if err := checkCredentials(req.Username, req.Password); err != nil {
		return req, err
	}
	return req, nil
}

// checkCredentials refuses what no SIP user can be: empty, oversized, not
// UTF-8, or with control characters in the username.
func checkCredentials(user, pass string) error {
	switch {
	case user == "" || pass == "":
		return fmt.Errorf("%w: empty username or password", ErrMalformed)
	case len(user) > maxUsername || len(pass) > maxPassword:
		return fmt.Errorf("%w: username or password too long", ErrMalformed)
	case !utf8.ValidString(user) || !utf8.ValidString(pass):
		return fmt.Errorf("%w: not UTF-8", ErrMalformed)
	case strings.ContainsFunc(user, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ':' }):
		return fmt.Errorf("%w: control character or colon in the username", ErrMalformed)
	}
	return nil
}

// authed wraps an API handler: the request must carry a live session
// cookie or valid Basic credentials.
// Authed wraps next so that only a logged-in SIP user (session cookie or
// HTTP Basic, with the same limits and bans as the phone's own API)
// reaches it; other packages mount user endpoints under /phone/api/ with it.
func (h *Handler) Authed(next func(http.ResponseWriter, *http.Request, Account)) http.HandlerFunc {
	return h.authed(next)
}

func (h *Handler) authed(next func(http.ResponseWriter, *http.Request, Account)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		ip := sourceIP(r)
		if h.o.Guard != nil && ip.IsValid() && h.o.Guard.Banned(ip) {
			h.limited.Add(1)
			problem(w, http.StatusForbidden, "banned", "this address is banned after failed logins")
			return
		}
		if c, err := r.Cookie(cookieName); err == nil {
			if acct, ok := h.fromSession(c.Value); ok {
				next(w, r, acct)
				return
			}
		}
		user, pass, isBasic, err := parseBasic(r.Header.Get("Authorization"))
		switch {
		case err != nil:
			h.challenge(w, r, http.StatusBadRequest, "bad credentials", err.Error())
			return
		case !isBasic:
			h.challenge(w, r, http.StatusUnauthorized, "login required", "log in first (POST /phone/api/login) or send Basic credentials")
			return
		}
		acct, err := h.attempt(ip, user, pass)
		if err != nil {
			h.refuse(w, r, err)
			return
		}
		next(w, r, acct)
	}
}

// fromSession returns the account of a live session whose user still has
// the password it logged in with.
func (h *Handler) fromSession(token string) (Account, bool) {
	s, ok := h.sessions.get(token, h.o.Now())
	if !ok {
		return Account{}, false
	}
	acct, ok := h.o.Accounts(s.user)
	if !ok || subtle.ConstantTimeCompare([]byte(acct.HA1MD5), []byte(s.ha1)) != 1 {
		h.sessions.drop(token) // user deleted or password changed
		return Account{}, false
	}
	return acct, true
}

// refuse answers a failed attempt: 403 when banned, 429 when limited,
// 401 otherwise.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrBanned) {
		problem(w, http.StatusForbidden, "banned", "this address is banned after failed logins")
		return
	}
	if errors.Is(err, ErrLimited) {
		w.Header().Set("Retry-After", fmt.Sprint(int(h.o.FailureRefill.Seconds()+0.5)))
		problem(w, http.StatusTooManyRequests, "too many failed logins", "wait before trying again")
		return
	}
	h.challenge(w, r, http.StatusUnauthorized, "wrong username or password", "wrong username or password")
}

// challenge writes a 401 (or other status) with WWW-Authenticate
// (RFC 9110 §11.6.1): Basic for scripts, "Session" for the page.
func (h *Handler) challenge(w http.ResponseWriter, r *http.Request, status int, title, detail string) {
	if status == http.StatusUnauthorized {
		if r.Header.Get(requestedWith) != "" {
			w.Header().Set("WWW-Authenticate", `Session realm="switchboard phone"`)
		} else {
			w.Header().Set("WWW-Authenticate", `Basic realm="switchboard phone", charset="UTF-8"`)
		}
	}
	problem(w, status, title, detail)
}

// login answers POST /phone/api/login: a JSON body with username and
// password; on success a session cookie and the phone's config.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if !sameOrigin(r) {
		problem(w, http.StatusForbidden, "cross-origin login", "log in from the gateway's own page")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		problem(w, http.StatusUnsupportedMediaType, "json expected", "send the credentials as application/json")
		return
	}
	ip := sourceIP(r)
	if err := h.refused(ip); err != nil {
		h.limited.Add(1)
		h.refuse(w, r, err)
		return
	}
	req, err := parseLogin(r.Body)
	if err != nil {
		problem(w, http.StatusBadRequest, "bad login", err.Error())
		return
	}
	acct, err := h.attempt(ip, req.Username, req.Password)
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	token, err := h.sessions.create(acct.Username, acct.HA1MD5, h.o.Now().Add(h.o.SessionTTL), h.o.Now())
	if err != nil {
		problem(w, http.StatusInternalServerError, "no session", err.Error())
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: token, Path: "/phone", MaxAge: int(h.o.SessionTTL.Seconds()),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
	h.log.Info("web phone login", "source", ip, "user", acct.Username)
	writeJSON(w, h.configFor(r, acct))
}

// logout answers POST /phone/api/logout: the session ends.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if !sameOrigin(r) {
		problem(w, http.StatusForbidden, "cross-origin logout", "log out from the gateway's own page")
		return
	}
	if c, err := r.Cookie(cookieName); err == nil {
		h.sessions.drop(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/phone", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

// sameOrigin reports whether a state-changing request comes from a page of
// this origin: its Origin header (sent by browsers on POST) names the
// host the request was sent to. Requests without Origin (scripts) pass.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	return o == "https://"+r.Host
}

// sourceIP is the client's address (unmapped), invalid if unreadable.
func sourceIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
