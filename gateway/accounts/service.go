package accounts

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

// Options configure a Service.
type Options struct {
	// Store keeps accounts, sessions and tokens.
	Store store.AccountStore
	// SessionIdle ends a session not used for this long. Default 30m.
	SessionIdle time.Duration
	// SessionMax ends a session this long after login. Default 12h.
	SessionMax time.Duration
	// LoginFailures failed logins within LoginWindow, per source and per
	// account name, refuse further tries until the window moves on.
	// Default 10 in 5m; negative turns the limit off.
	LoginFailures int
	LoginWindow   time.Duration
	// Hash are the argon2id parameters of new hashes; zero: the default.
	Hash HashParams
	// FirstRunFile is data_dir/admin.password: removed when the admin
	// account's password is changed. "" when there is none.
	FirstRunFile string
	// Now is the clock (tests inject one). Default time.Now.
	Now func() time.Time
}

// Service is the accounts logic: password checks, sessions, tokens and
// account administration, over an AccountStore. Safe for concurrent use.
type Service struct {
	st        store.AccountStore
	idle, max time.Duration
	params    HashParams
	now       func() time.Time
	firstRun  string
	limiter   *Limiter

	// dummy is a hash verified for unknown and disabled accounts, so
	// that they cost what a wrong password costs.
	dummy string
	// hashing bounds the argon2id computations running at once (each
	// takes Hash.Memory KiB).
	hashing chan struct{}

	// cache remembers passwords verified for HTTP Basic (scripts send
	// them with every request): key name+HMAC(password) under a process
	// key, value the PHC hash they matched. A changed hash misses.
	cacheKey [32]byte
	cacheMu  sync.Mutex
	cache    map[string]string

	stats struct{ ok, failed, limited atomic.Uint64 }
	// verified counts argon2id verifications run (tests: an unknown
	// account costs one too).
	verified atomic.Uint64
	// queued counts password checks running or waiting for a slot.
	queued atomic.Int64
}

// Stats counts password checks (session logins, Basic, old passwords).
type Stats struct {
	// OK were accepted; Failed had a wrong name or password; Limited
	// were refused by the rate limit without being checked.
	OK, Failed, Limited uint64
}

// Stats returns the counters since New.
func (s *Service) Stats() Stats {
	return Stats{OK: s.stats.ok.Load(), Failed: s.stats.failed.Load(), Limited: s.stats.limited.Load()}
}

// maxBasicCache bounds the Basic verification cache.
const maxBasicCache = 4096

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("accounts: no store")
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = 30 * time.Minute
	}
	if o.SessionMax <= 0 {
		o.SessionMax = 12 * time.Hour
	}
	if o.LoginFailures == 0 {
		o.LoginFailures = 10
	}
	if o.LoginWindow <= 0 {
		o.LoginWindow = 5 * time.Minute
	}
	if o.Hash == (HashParams{}) {
		o.Hash = DefaultHashParams
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{st: o.Store, idle: o.SessionIdle, max: o.SessionMax, params: o.Hash, now: o.Now,
		firstRun: o.FirstRunFile, limiter: NewLimiter(o.LoginFailures, o.LoginWindow, o.Now),
		hashing: make(chan struct{}, 2), cache: map[string]string{}}
	if _, err := rand.Read(s.cacheKey[:]); err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	pw := make([]byte, 16)
	_, _ = rand.Read(pw)
	var err error
	if s.dummy, err = Hash(string(pw), s.params); err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	return s, nil
}

// SessionIdle and SessionMax are the session lifetimes in force.
func (s *Service) SessionIdle() time.Duration { return s.idle }

// SessionMax is the absolute session lifetime.
func (s *Service) SessionMax() time.Duration { return s.max }

// hash runs Hash under the hashing semaphore.
func (s *Service) hash(ctx context.Context, pw string) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-s.hashing }()
	return Hash(pw, s.params)
}

func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.hashing <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// verify checks name's password. Unknown and disabled accounts cost one
// hash too and answer ErrBadCredentials like a wrong password.
func (s *Service) verify(ctx context.Context, name, pw string) (store.Account, error) {
	a, err := s.st.Account(ctx, name)
	hash := s.dummy
	known := err == nil && !a.Disabled
	if known {
		hash = a.PasswordHash
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return a, err
	}
	ck := s.cacheKeyOf(name, pw)
	if known {
		s.cacheMu.Lock()
		hit := s.cache[ck] == hash
		s.cacheMu.Unlock()
		if hit {
			return a, nil
		}
	}
	if err := s.acquire(ctx); err != nil {
		return a, err
	}
	ok, verr := Verify(pw, hash)
	s.verified.Add(1)
	<-s.hashing
	if verr != nil && known {
		return a, fmt.Errorf("account %q: %w", name, verr)
	}
	if !ok || !known {
		return a, ErrBadCredentials
	}
	s.cacheMu.Lock()
	if len(s.cache) >= maxBasicCache {
		clear(s.cache)
	}
	s.cache[ck] = hash
	s.cacheMu.Unlock()
	return a, nil
}

func (s *Service) cacheKeyOf(name, pw string) string {
	m := hmac.New(sha256.New, s.cacheKey[:])
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write([]byte(pw))
	return string(m.Sum(nil))
}

// limitKeys are the limiter keys of a login attempt: the source and the
// account name (case-folded, so case variants share one budget).
func limitKeys(name, source string) []string {
	return []string{"src " + source, "acct " + strings.ToLower(name)}
}

// checkLogin verifies a password under the login rate limit. The attempt
// counts as a failure while it is checked (see Limiter.Attempt), so a
// burst of guesses from one source or for one name queues at most
// LoginFailures hashes; and no more than maxHashQueue checks wait for
// the hashing slots at all.
func (s *Service) checkLogin(ctx context.Context, name, pw, source string) (store.Account, error) {
	keys := limitKeys(name, source)
	at, wait := s.limiter.Attempt(keys...)
	if wait > 0 {
		s.stats.limited.Add(1)
		return store.Account{}, &LimitedError{RetryAfter: wait}
	}
	if s.queued.Add(1) > maxHashQueue {
		s.queued.Add(-1)
		s.limiter.Forgive(at, keys[0], "")
		s.stats.limited.Add(1)
		return store.Account{}, &LimitedError{RetryAfter: time.Second}
	}
	a, err := s.verify(ctx, name, pw)
	s.queued.Add(-1)
	if errors.Is(err, ErrBadCredentials) {
		s.stats.failed.Add(1)
		return a, err
	}
	if err != nil {
		s.limiter.Forgive(at, keys[0], "")
		return a, err
	}
	s.stats.ok.Add(1)
	s.limiter.Forgive(at, keys[0], keys[1])
	return a, nil
}

// maxHashQueue bounds the password checks waiting for a hashing slot;
// past it a login is answered "try again in a second" (429) at once.
const maxHashQueue = 64

func principalOf(a store.Account, via string) Principal {
	return Principal{Account: a.Name, Role: Role(a.Role), Groups: append([]string(nil), a.Groups...), Via: via}
}

// Authenticate checks HTTP Basic credentials from source (rate-limited
// like Login) and returns the caller.
func (s *Service) Authenticate(ctx context.Context, name, pw, source string) (Principal, error) {
	a, err := s.checkLogin(ctx, name, pw, source)
	if err != nil {
		return Principal{}, err
	}
	return principalOf(a, "basic"), nil
}

// Session is a login as the HTTP side hands it to the browser.
type Session struct {
	// ID is the cookie value; only its hash is stored.
	ID string
	// CSRF is the token unsafe requests of this session must carry in
	// X-CSRF-Token.
	CSRF      string
	CreatedAt time.Time
	// IdleExpires is when the session ends if not used again; Expires
	// when it ends in any case.
	IdleExpires time.Time
	Expires     time.Time
}

// Login checks the password and opens a session.
func (s *Service) Login(ctx context.Context, name, pw, source string) (Session, Principal, error) {
	a, err := s.checkLogin(ctx, name, pw, source)
	if err != nil {
		return Session{}, Principal{}, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Session{}, Principal{}, fmt.Errorf("login: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(raw)
	now := s.now().UTC().Truncate(time.Microsecond)
	if err := s.st.PutSession(ctx, store.Session{IDHash: hashHex(id), Account: a.Name, Source: source,
		CreatedAt: now, LastSeen: now}); err != nil {
		return Session{}, Principal{}, fmt.Errorf("login: %w", err)
	}
	return Session{ID: id, CSRF: CSRFToken(id), CreatedAt: now, IdleExpires: now.Add(s.idle), Expires: now.Add(s.max)},
		principalOf(a, "session"), nil
}

// sessionIDLen is the length of a session id (32 bytes, base64url).
const sessionIDLen = 43

// validSessionID reports whether id could be one of ours.
func validSessionID(id string) bool {
	if len(id) != sessionIDLen {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(id)
	return err == nil
}

// SessionPrincipal returns the caller of a live session and the session's
// times, and marks it used. A session idle or older than the limits is
// deleted and answers ErrSessionExpired, like one that never existed.
func (s *Service) SessionPrincipal(ctx context.Context, id string) (Principal, Session, error) {
	if !validSessionID(id) {
		return Principal{}, Session{}, ErrSessionExpired
	}
	h := hashHex(id)
	se, err := s.st.Session(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, Session{}, ErrSessionExpired
	}
	if err != nil {
		return Principal{}, Session{}, err
	}
	now := s.now()
	if !now.Before(se.LastSeen.Add(s.idle)) || !now.Before(se.CreatedAt.Add(s.max)) {
		_ = s.st.DeleteSession(ctx, h)
		return Principal{}, Session{}, ErrSessionExpired
	}
	a, err := s.st.Account(ctx, se.Account)
	if err != nil || a.Disabled {
		_ = s.st.DeleteSession(ctx, h)
		return Principal{}, Session{}, ErrSessionExpired
	}
	// Write last-seen at most every touchEvery: a console polling many
	// times a second does not turn into a write each.
	seen := se.LastSeen
	if now.Sub(se.LastSeen) >= s.touchEvery() {
		seen = now.UTC().Truncate(time.Microsecond)
		if err := s.st.TouchSession(ctx, h, seen); err != nil {
			return Principal{}, Session{}, err
		}
	}
	return principalOf(a, "session"), Session{ID: id, CSRF: CSRFToken(id), CreatedAt: se.CreatedAt,
		IdleExpires: seen.Add(s.idle), Expires: se.CreatedAt.Add(s.max)}, nil
}

func (s *Service) touchEvery() time.Duration { return min(s.idle/20, time.Minute) }

// Logout ends the session id.
func (s *Service) Logout(ctx context.Context, id string) error {
	if !validSessionID(id) {
		return ErrSessionExpired
	}
	if err := s.st.DeleteSession(ctx, hashHex(id)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrSessionExpired
		}
		return err
	}
	return nil
}

// CSRFToken is the anti-CSRF token of session id: HMAC-SHA256 keyed with
// the session id, so it needs no storage, differs per session, and cannot
// be made without the (HttpOnly) session cookie.
func CSRFToken(id string) string {
	m := hmac.New(sha256.New, []byte(id))
	m.Write([]byte("switchboard csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF reports whether token is the CSRF token of session id.
func CheckCSRF(id, token string) bool {
	return token != "" && hmac.Equal([]byte(token), []byte(CSRFToken(id)))
}

// LoggedIn counts the live sessions per account.
func (s *Service) LoggedIn(ctx context.Context) (map[string]int, error) {
	now := s.now()
	return s.st.LiveSessions(ctx, now.Add(-s.idle), now.Add(-s.max))
}

// Run deletes ended sessions every interval until ctx ends.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			now := s.now()
			_, _ = s.st.DeleteStaleSessions(ctx, now.Add(-s.idle), now.Add(-s.max))
		}
	}
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
