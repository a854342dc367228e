package accounts

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/store/sqlite"
)

// cheap are argon2id parameters that keep the tests fast; the format and
// the code path are the production ones.
var cheap = HashParams{Memory: 64, Time: 1, Threads: 1}

// clock is an injected clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newService(t *testing.T, mod func(*Options)) (*Service, *clock) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	c := &clock{t: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)}
	o := Options{Store: st, Hash: cheap, Now: c.Now, SessionIdle: 30 * time.Minute, SessionMax: 12 * time.Hour}
	if mod != nil {
		mod(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func mustCreate(t *testing.T, s *Service, name string, role Role) {
	t.Helper()
	if _, err := s.Create(t.Context(), NewAccount{Name: name, Role: role, Password: name + "-password"}); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
}

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse", DefaultHashParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q: not argon2id PHC with the default parameters", h)
	}
	h2, _ := Hash("correct horse", DefaultHashParams)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for pw, want := range map[string]bool{"correct horse": true, "correct horsf": false, "": false, "Correct horse": false} {
		if ok, err := Verify(pw, h); err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", // 4 TiB
		"$argon2id$v=19$m=64,t=1000000,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,m=64,t=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA"} {
		if _, err := Verify("x", bad); !errors.Is(err, ErrHashFormat) {
			t.Errorf("Verify against %q: %v, want ErrHashFormat", bad, err)
		}
	}
}

func TestLoginAndSessionExpiry(t *testing.T) {
	s, c := newService(t, nil)
	mustCreate(t, s, "olga", RoleOperator)
	ctx := t.Context()
	if _, _, err := s.Login(ctx, "olga", "wrong-password", "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, _, err := s.Login(ctx, "nobody", "olga-password", "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("unknown account: %v, want the same ErrBadCredentials", err)
	}
	se, p, err := s.Login(ctx, "olga", "olga-password", "192.0.2.1")
	if err != nil || p.Account != "olga" || p.Role != RoleOperator || p.Via != "session" {
		t.Fatalf("login: %+v %v", p, err)
	}
	if !CheckCSRF(se.ID, se.CSRF) || CheckCSRF(se.ID, "") || CheckCSRF(se.ID, CSRFToken(strings.Repeat("A", 43))) {
		t.Fatal("CSRF token check")
	}
	// Used every 20 minutes, the session outlives the 30 minute idle limit...
	for range 3 {
		c.Add(20 * time.Minute)
		if _, _, err := s.SessionPrincipal(ctx, se.ID); err != nil {
			t.Fatalf("session after 20 idle minutes: %v", err)
		}
	}
	// ...but not 31 idle minutes.
	c.Add(31 * time.Minute)
	if _, _, err := s.SessionPrincipal(ctx, se.ID); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("idle session: %v, want ErrSessionExpired", err)
	}
	// The absolute limit ends a session in use.
	se, _, _ = s.Login(ctx, "olga", "olga-password", "192.0.2.1")
	for i := 0; i < 12*60/20-1; i++ {
		c.Add(20 * time.Minute)
		if _, _, err := s.SessionPrincipal(ctx, se.ID); err != nil {
			t.Fatalf("session in use after %d min: %v", (i+1)*20, err)
		}
	}
	c.Add(20 * time.Minute)
	if _, _, err := s.SessionPrincipal(ctx, se.ID); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("session past session_max: %v", err)
	}
	for _, junk := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("!", 43), se.ID + "A"} {
		if _, _, err := s.SessionPrincipal(ctx, junk); !errors.Is(err, ErrSessionExpired) {
			t.Errorf("session %q: %v", junk, err)
		}
	}
}

func TestRevocation(t *testing.T) {
	s, _ := newService(t, nil)
	ctx := t.Context()
	mustCreate(t, s, "olga", RoleOperator)
	mustCreate(t, s, "root", RoleAdmin)
	login := func() string {
		se, _, err := s.Login(ctx, "olga", "olga-password", "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		return se.ID
	}
	live := func(id string) bool { _, _, err := s.SessionPrincipal(ctx, id); return err == nil }

	id := login()
	if err := s.Logout(ctx, id); err != nil || live(id) {
		t.Fatalf("logout: %v, still live %v", err, live(id))
	}
	if err := s.Logout(ctx, id); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("logout replayed: %v", err)
	}

	a, b := login(), login()
	if err := s.SetPassword(ctx, "olga", "new-password-1"); err != nil {
		t.Fatal(err)
	}
	if live(a) || live(b) {
		t.Fatal("sessions survive a password change")
	}
	if _, err := s.Authenticate(ctx, "olga", "olga-password", "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("old password after change: %v", err)
	}
	if _, err := s.Authenticate(ctx, "olga", "new-password-1", "192.0.2.1"); err != nil {
		t.Fatalf("new password: %v", err)
	}

	se, _, _ := s.Login(ctx, "olga", "new-password-1", "192.0.2.1")
	dis := true
	if _, err := s.Update(ctx, "olga", Patch{Disabled: &dis}); err != nil {
		t.Fatal(err)
	}
	if live(se.ID) {
		t.Fatal("session survives disabling the account")
	}
	if _, err := s.Authenticate(ctx, "olga", "new-password-1", "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("disabled account authenticates: %v", err)
	}

	// The last admin stays.
	demote := RoleOperator
	if _, err := s.Update(ctx, "root", Patch{Role: &demote}); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("demote last admin: %v", err)
	}
	if err := s.Delete(ctx, "root"); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("delete last admin: %v", err)
	}
}

func TestBasicCacheFollowsPasswordChange(t *testing.T) {
	s, _ := newService(t, nil)
	ctx := t.Context()
	mustCreate(t, s, "olga", RoleOperator)
	for range 3 {
		if _, err := s.Authenticate(ctx, "olga", "olga-password", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetPassword(ctx, "olga", "another-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "olga", "olga-password", "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("cached old password still accepted: %v", err)
	}
}

func TestTokenScope(t *testing.T) {
	s, c := newService(t, nil)
	ctx := t.Context()
	mustCreate(t, s, "sup", RoleSupervisor)
	mustCreate(t, s, "olga", RoleOperator)
	mustCreate(t, s, "root", RoleAdmin)
	sup := Principal{Account: "sup", Role: RoleSupervisor, Via: "session"}
	if _, _, err := s.IssueToken(ctx, sup, "crm", RoleAdmin, time.Time{}); !errors.Is(err, ErrRoleTooHigh) {
		t.Fatalf("supervisor makes an admin token: %v", err)
	}
	view, value, err := s.IssueToken(ctx, sup, "crm", RoleOperator, c.Now().Add(time.Hour))
	if err != nil || view.Role != RoleOperator || view.Expires == nil {
		t.Fatalf("issue: %+v %v", view, err)
	}
	p, err := s.TokenPrincipal(ctx, value)
	if err != nil || p.Account != "sup" || p.Role != RoleOperator || p.Via != "token" {
		t.Fatalf("token principal %+v %v", p, err)
	}
	if _, _, err := s.IssueToken(ctx, p, "again", "", time.Time{}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("token makes a token: %v", err)
	}
	// Tampered secret, unknown id, malformed.
	for _, bad := range []string{value[:len(value)-1] + "A", "sbt_0000000000000000_" + value[len(value)-43:], "", "Bearer", value + "x"} {
		if bad == value {
			continue
		}
		if _, err := s.TokenPrincipal(ctx, bad); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	// An owner demoted below the token's role caps it.
	_, full, _ := s.IssueToken(ctx, sup, "full", "", time.Time{})
	op := RoleOperator
	if _, err := s.Update(ctx, "sup", Patch{Role: &op}); err != nil {
		t.Fatal(err)
	}
	if p, err := s.TokenPrincipal(ctx, full); err != nil || p.Role != RoleOperator {
		t.Fatalf("token of a demoted owner: %+v %v", p, err)
	}
	// Others' tokens are invisible and not revocable; the admin sees all.
	olga := Principal{Account: "olga", Role: RoleOperator, Via: "basic"}
	if err := s.RevokeToken(ctx, olga, view.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("olga revokes sup's token: %v", err)
	}
	if ts, _ := s.Tokens(ctx, olga); len(ts) != 0 {
		t.Fatalf("olga sees %d tokens", len(ts))
	}
	if ts, _ := s.Tokens(ctx, Principal{Account: "root", Role: RoleAdmin}); len(ts) != 2 {
		t.Fatalf("admin sees %d tokens, want 2", len(ts))
	}
	// Expiry.
	c.Add(time.Hour)
	if _, err := s.TokenPrincipal(ctx, value); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("expired token: %v", err)
	}
	// Revoked.
	if err := s.RevokeToken(ctx, sup, tokIDOf(t, full)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenPrincipal(ctx, full); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("revoked token: %v", err)
	}
}

func tokIDOf(t *testing.T, v string) string {
	id, _, ok := ParseToken(v)
	if !ok {
		t.Fatalf("token %q does not parse", v)
	}
	return id
}

func TestLoginRateLimit(t *testing.T) {
	s, c := newService(t, func(o *Options) { o.LoginFailures = 3; o.LoginWindow = time.Minute })
	ctx := t.Context()
	mustCreate(t, s, "olga", RoleOperator)
	for i := range 3 {
		if _, _, err := s.Login(ctx, "olga", "guess", "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	var le *LimitedError
	if _, _, err := s.Login(ctx, "olga", "olga-password", "192.0.2.1"); !errors.As(err, &le) || le.RetryAfter <= 0 {
		t.Fatalf("4th try: %v, want LimitedError", err)
	}
	// The account's budget is spent from any source...
	if _, _, err := s.Login(ctx, "olga", "olga-password", "192.0.2.2"); !errors.As(err, &le) {
		t.Fatalf("other source, same account: %v", err)
	}
	// ...and an unknown name is limited just the same (nothing learned).
	for range 3 {
		_, _, _ = s.Login(ctx, "ghost", "guess", "192.0.2.3")
	}
	if _, _, err := s.Login(ctx, "ghost", "guess", "192.0.2.4"); !errors.As(err, &le) {
		t.Fatalf("unknown name not limited: %v", err)
	}
	c.Add(time.Minute)
	if _, _, err := s.Login(ctx, "olga", "olga-password", "192.0.2.1"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestFirstRun(t *testing.T) {
	s, _ := newService(t, nil)
	ctx := t.Context()
	dir := t.TempDir()
	fr, err := s.EnsureFirstRun(ctx, dir)
	if err != nil || !fr.Created || fr.FromFile || len(fr.Password) < 20 {
		t.Fatalf("first run: %+v %v", fr, err)
	}
	fi, err := os.Stat(filepath.Join(dir, FirstRunFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.password: %v %v", fi, err)
	}
	if p, err := s.Authenticate(ctx, "admin", fr.Password, "127.0.0.1"); err != nil || p.Role != RoleAdmin {
		t.Fatalf("admin login: %+v %v", p, err)
	}
	again, err := s.EnsureFirstRun(ctx, dir)
	if err != nil || again.Created || again.Password != fr.Password {
		t.Fatalf("second start: %+v %v", again, err)
	}
	// Restored data: the file exists, the store is empty.
	s2, _ := newService(t, nil)
	re, err := s2.EnsureFirstRun(ctx, dir)
	if err != nil || !re.Created || !re.FromFile {
		t.Fatalf("restore: %+v %v", re, err)
	}
	if _, err := s2.Authenticate(ctx, "admin", fr.Password, "127.0.0.1"); err != nil {
		t.Fatalf("admin from the file: %v", err)
	}
	// Changing the admin's password removes the file.
	s2.firstRun = re.Path
	if err := s2.SetPassword(ctx, "admin", "a-new-admin-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(re.Path); !os.IsNotExist(err) {
		t.Fatalf("admin.password after the change: %v", err)
	}
}

func TestCreateValidation(t *testing.T) {
	s, _ := newService(t, nil)
	for _, n := range []NewAccount{
		{Name: "", Role: RoleOperator, Password: "long-enough"},
		{Name: "-x", Role: RoleOperator, Password: "long-enough"},
		{Name: "a b", Role: RoleOperator, Password: "long-enough"},
		{Name: "x", Role: "root", Password: "long-enough"},
		{Name: "x", Role: RoleOperator, Password: "short"},
		{Name: "x", Role: RoleOperator, Password: strings.Repeat("p", 1025)},
		{Name: "x", Role: RoleOperator, Password: "long-enough", Device: "1000"},
		{Name: "x", Role: RoleOperator, Password: "long-enough", Groups: []string{"ok", "not ok"}},
		{Name: "x", Role: RoleOperator, Password: "long-enough", DisplayName: "a\x00b"},
	} {
		if _, err := s.Create(t.Context(), n); !errors.Is(err, ErrInvalid) {
			t.Errorf("Create(%+v) = %v, want ErrInvalid", n, err)
		}
	}
	a, err := s.Create(t.Context(), NewAccount{Name: "olga", Role: RoleOperator, Password: "long-enough",
		Device: "mitel1:1001", Groups: []string{"b", "a", "b"}})
	if err != nil || a.Device != "mitel1:1001" || strings.Join(a.Groups, ",") != "a,b" {
		t.Fatalf("create: %+v %v", a, err)
	}
	if _, err := s.Create(t.Context(), NewAccount{Name: "olga", Role: RoleOperator, Password: "long-enough"}); !errors.Is(err, ErrExists) {
		t.Fatalf("create twice: %v", err)
	}
}

// TestUnknownAccountCostsAHash: an unknown or disabled account runs the
// same argon2id verification as a wrong password (against a dummy hash),
// so timing does not tell which accounts exist.
func TestUnknownAccountCostsAHash(t *testing.T) {
	s, _ := newService(t, nil)
	ctx := t.Context()
	mustCreate(t, s, "olga", RoleOperator)
	mustCreate(t, s, "dora", RoleOperator)
	off := true
	if _, err := s.Update(ctx, "dora", Patch{Disabled: &off}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"olga", "ghost", "dora"} {
		before := s.verified.Load()
		if _, err := s.Authenticate(ctx, name, "wrong-password", "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("%s: %v", name, err)
		}
		if n := s.verified.Load() - before; n != 1 {
			t.Errorf("%s: %d argon2id verifications, want 1 as for every account", name, n)
		}
	}
}

// BenchmarkVerify is one login's password check with the default
// parameters (go test -bench Verify ./gateway/accounts/).
func BenchmarkVerify(b *testing.B) {
	h, err := Hash("correct horse battery", DefaultHashParams)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _ := Verify("correct horse battery", h); !ok {
			b.Fatal("no match")
		}
	}
}
