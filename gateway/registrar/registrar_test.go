package registrar

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/gateway/digest"
	"github.com/switchboard-gw/switchboard/gateway/store"
)

// memPersist records applied changes; fail makes Apply return an error.
type memPersist struct {
	mu      sync.Mutex
	changes []store.BindingChange
	fail    bool
}

func (p *memPersist) Apply(_ context.Context, cs ...store.BindingChange) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return errors.New("disk full")
	}
	p.changes = append(p.changes, cs...)
	return nil
}

type users map[string]string // username -> password

func (u users) HA1(name, algo string) (string, bool) {
	pw, ok := u[name]
	if !ok {
		return "", false
	}
	h, _ := digest.HA1(algo, name, "example.com", pw)
	return h, true
}

// countingUsers counts the HA1 lookups made, per username.
type countingUsers struct {
	users
	mu      sync.Mutex
	lookups map[string]int
}

func (u *countingUsers) HA1(name, algo string) (string, bool) {
	u.mu.Lock()
	u.lookups[name]++
	u.mu.Unlock()
	return u.users.HA1(name, algo)
}

type observer struct {
	mu             sync.Mutex
	failed, passed int
	failedUsers    []string
	probed         []string
}

func (o *observer) AuthFailed(_ netip.Addr, user string) {
	o.mu.Lock()
	o.failed++
	o.failedUsers = append(o.failedUsers, user)
	o.mu.Unlock()
}
func (o *observer) AuthSucceeded(netip.Addr, string) { o.mu.Lock(); o.passed++; o.mu.Unlock() }
func (o *observer) Probe(_ netip.Addr, name string) {
	o.mu.Lock()
	o.probed = append(o.probed, name)
	o.mu.Unlock()
}

type fixture struct {
	t    *testing.T
	dir  *countingUsers
	reg  *Registrar
	p    *memPersist
	obs  *observer
	now  time.Time
	cseq int
}

func newFixture(t *testing.T) *fixture { return newFixtureWith(t, nil) }

// newFixtureWith is newFixture with mod applied to the registrar options.
func newFixtureWith(t *testing.T, mod func(*Options)) *fixture {
	f := &fixture{t: t, p: &memPersist{}, obs: &observer{}, now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	auth, err := digest.New(digest.Options{Realm: "example.com", Secret: []byte(strings.Repeat("k", 32)), Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	f.dir = &countingUsers{users: users{"u1000": "secret", "u1001": "secret"}, lookups: map[string]int{}}
	o := Options{
		Domains: []string{"example.com"}, Auth: auth, Users: f.dir,
		Persist: f.p, Observer: f.obs, Now: func() time.Time { return f.now }, MaxContacts: 3,
	}
	if mod != nil {
		mod(&o)
	}
	f.reg, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// request parses a REGISTER for user with extra header lines.
func (f *fixture) request(user, callID string, cseq int, extra ...string) *sip.Request {
	f.t.Helper()
	raw := "REGISTER sip:example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK" + fmt.Sprint(time.Now().UnixNano()) + ";rport\r\n" +
		"From: <sip:" + user + "@example.com>;tag=abc\r\n" +
		"To: <sip:" + user + "@example.com>\r\n" +
		"Call-ID: " + callID + "\r\n" +
		fmt.Sprintf("CSeq: %d REGISTER\r\n", cseq) +
		"Max-Forwards: 70\r\n"
	for _, h := range extra {
		raw += h + "\r\n"
	}
	raw += "Content-Length: 0\r\n\r\n"
	msg, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		f.t.Fatalf("parse: %v\n%s", err, raw)
	}
	req := msg.(*sip.Request)
	req.SetSource("192.0.2.10:5062")
	req.SetTransport("UDP")
	return req
}

// authorize answers the challenge in res for user/password (qop=auth, MD5).
func authorize(t *testing.T, res *sip.Response, user, password string) string {
	t.Helper()
	var chal string
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		if strings.Contains(h.Value(), "algorithm=MD5") {
			chal = h.Value()
		}
	}
	if chal == "" {
		t.Fatalf("no MD5 challenge in %s", res.StartLine())
	}
	param := func(name string) string {
		i := strings.Index(chal, name+"=\"")
		if i < 0 {
			return ""
		}
		rest := chal[i+len(name)+2:]
		return rest[:strings.IndexByte(rest, '"')]
	}
	h := func(s string) string { x := md5.Sum([]byte(s)); return hex.EncodeToString(x[:]) }
	nonce, opaque := param("nonce"), param("opaque")
	ha1 := h(user + ":example.com:" + password)
	ha2 := h("REGISTER:sip:example.com")
	resp := h(ha1 + ":" + nonce + ":00000001:c0ffee:auth:" + ha2)
	return fmt.Sprintf(`Authorization: Digest username="%s", realm="example.com", nonce="%s", uri="sip:example.com", response="%s", algorithm=MD5, qop=auth, nc=00000001, cnonce="c0ffee", opaque="%s"`,
		user, nonce, resp, opaque)
}

// register runs the two-step digest exchange and returns the final response.
func (f *fixture) register(user, password, callID string, extra ...string) *sip.Response {
	f.t.Helper()
	f.cseq++
	res := f.reg.register(context.Background(), f.request(user, callID, f.cseq, extra...))
	if res.StatusCode != 401 {
		return res
	}
	f.cseq++
	return f.reg.register(context.Background(), f.request(user, callID, f.cseq, append(extra, authorize(f.t, res, user, password))...))
}

func contacts(res *sip.Response) []string {
	var out []string
	for _, h := range res.GetHeaders("Contact") {
		out = append(out, h.Value())
	}
	return out
}

func TestRegisterLifecycle(t *testing.T) {
	f := newFixture(t)
	res := f.register("u1000", "secret", "call-1", "Contact: <sip:u1000@192.0.2.10:5062>;expires=600", "Expires: 3600")
	if res.StatusCode != 200 {
		t.Fatalf("register: %s", res.StartLine())
	}
	if got := contacts(res); len(got) != 1 || got[0] != "<sip:u1000@192.0.2.10:5062>;expires=600" {
		t.Fatalf("contacts = %q", got)
	}
	if res.GetHeader("Date") == nil {
		t.Error("200 OK without Date (RFC 3261 §10.3 step 8)")
	}
	// A second device with a q-value; the list shows both.
	res = f.register("u1000", "secret", "call-2", "Contact: <sip:u1000@192.0.2.11:5060;transport=tcp>;q=0.5")
	if got := contacts(res); len(got) != 2 {
		t.Fatalf("contacts after second device = %q", got)
	}
	if b := f.reg.Location().Lookup("u1000@example.com", f.now); len(b) != 2 || b[0].Q >= 0 || b[1].Q != 0.5 {
		t.Fatalf("lookup order by q wrong: %+v", b)
	}
	// Fetch: no Contact lists the bindings without changing them.
	res = f.register("u1000", "secret", "call-3")
	if res.StatusCode != 200 || len(contacts(res)) != 2 {
		t.Fatalf("fetch: %s %q", res.StartLine(), contacts(res))
	}
	// Wildcard removes everything.
	res = f.register("u1000", "secret", "call-4", "Contact: *", "Expires: 0")
	if res.StatusCode != 200 || len(contacts(res)) != 0 {
		t.Fatalf("wildcard: %s %q", res.StartLine(), contacts(res))
	}
	if n, _ := f.reg.Location().Count(f.now); n != 0 {
		t.Fatalf("bindings left after *: %d", n)
	}
	if len(f.p.changes) != 4 {
		t.Errorf("persisted %d changes, want 4 (2 puts, 2 deletes)", len(f.p.changes))
	}
}

func TestRegisterRejections(t *testing.T) {
	cases := []struct {
		name   string
		user   string
		pass   string
		extra  []string
		status int
	}{
		{"interval too brief", "u1000", "secret", []string{"Contact: <sip:u1000@192.0.2.10>;expires=30"}, 423},
		{"wildcard with other contact", "u1000", "secret", []string{"Contact: *", "Contact: <sip:a@192.0.2.1>", "Expires: 0"}, 400},
		{"wildcard without expires 0", "u1000", "secret", []string{"Contact: *"}, 400},
		{"bad q", "u1000", "secret", []string{"Contact: <sip:u1000@192.0.2.10>;q=2"}, 400},
		{"bad expires header", "u1000", "secret", []string{"Contact: <sip:u1000@192.0.2.10>", "Expires: soon"}, 400},
		{"unsupported require", "u1000", "secret", []string{"Require: gruu", "Contact: <sip:u1000@192.0.2.10>"}, 420},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			res := f.register(c.user, c.pass, "call-x", c.extra...)
			if res.StatusCode != c.status {
				t.Fatalf("got %s, want %d", res.StartLine(), c.status)
			}
			if c.status == 423 && res.GetHeader("Min-Expires").Value() != "60" {
				t.Errorf("423 without Min-Expires: 60")
			}
		})
	}
}

// TestWrongPasswordAndUnknownUserLookAlike: an unknown user and a wrong
// password get the same answer after the same work. The work is counted,
// not timed: one HA1 lookup each (the unknown user's answered with the
// dummy HA1 inside digest, see digest.TestUnknownUserSameWork for the
// hashes), the same response headers apart from the fresh nonce, and both
// reported to the guard as failures of the username given.
func TestWrongPasswordAndUnknownUserLookAlike(t *testing.T) {
	f := newFixture(t)
	wrong := f.register("u1000", "nope", "c1", "Contact: <sip:u1000@192.0.2.10>")
	wrongLookups := f.dir.lookups["u1000"]
	unknown := f.register("ghost", "secret", "c2", "Contact: <sip:ghost@192.0.2.10>")
	unknownLookups := f.dir.lookups["ghost"]
	if wrong.StatusCode != 401 || unknown.StatusCode != 401 {
		t.Fatalf("wrong=%s unknown=%s, want 401 both", wrong.StartLine(), unknown.StartLine())
	}
	if wrongLookups != 1 || unknownLookups != 1 {
		t.Errorf("HA1 lookups: wrong password %d, unknown user %d; want 1 each", wrongLookups, unknownLookups)
	}
	shape := func(res *sip.Response) string {
		var b strings.Builder
		for _, h := range res.Headers() {
			switch strings.ToLower(h.Name()) {
			case "via", "from", "to", "call-id", "cseq":
				continue // echo the request
			}
			v := h.Value()
			if i := strings.Index(v, `nonce="`); i >= 0 {
				v = v[:i] + v[i+len(`nonce="`)+48:]
			}
			b.WriteString(h.Name() + ": " + v + "\n")
		}
		return b.String()
	}
	if a, b := shape(wrong), shape(unknown); a != b {
		t.Errorf("responses differ beyond the nonce:\n%s---\n%s", a, b)
	}
	if f.obs.failed != 2 || strings.Join(f.obs.failedUsers, ",") != "u1000,ghost" {
		t.Errorf("observer saw %d failures %v, want u1000 and ghost", f.obs.failed, f.obs.failedUsers)
	}
}

func TestRegisterOtherUsersAORForbidden(t *testing.T) {
	f := newFixture(t)
	f.cseq++
	res := f.reg.register(context.Background(), f.request("u1001", "c", f.cseq, "Contact: <sip:x@192.0.2.1>"))
	f.cseq++
	// u1000's credentials on u1001's AOR.
	auth := authorize(t, res, "u1000", "secret")
	res = f.reg.register(context.Background(), f.request("u1001", "c", f.cseq, "Contact: <sip:x@192.0.2.1>", auth))
	if res.StatusCode != 403 {
		t.Fatalf("got %s, want 403", res.StartLine())
	}
}

func TestOutOfOrderCSeq(t *testing.T) {
	f := newFixture(t)
	if res := f.register("u1000", "secret", "same", "Contact: <sip:u1000@192.0.2.10>"); res.StatusCode != 200 {
		t.Fatal(res.StartLine())
	}
	f.cseq = 0 // an older request of the same Call-ID arrives late
	if res := f.register("u1000", "secret", "same", "Contact: <sip:u1000@192.0.2.10>"); res.StatusCode != 500 {
		t.Fatalf("got %s, want 500 (RFC 3261 §10.3 step 7)", res.StartLine())
	}
}

// edgeAt makes the fixture's source (192.0.2.10) an edge proxy.
func edgeAt(o *Options) {
	o.EdgeProxies = netip.MustParsePrefix("192.0.2.10/32").Contains
}

// TestPathOnlyFromEdgeProxies: a REGISTER's Path (RFC 3327) is stored and
// echoed only when it comes from a configured edge proxy; from anyone
// else it would route the user's calls through a host of their choosing.
func TestPathOnlyFromEdgeProxies(t *testing.T) {
	for _, tt := range []struct {
		name string
		mod  func(*Options)
		want bool
	}{
		{"no edge proxies configured", nil, false},
		{"another edge proxy", func(o *Options) { o.EdgeProxies = netip.MustParsePrefix("198.51.100.0/24").Contains }, false},
		{"from the edge proxy", edgeAt, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixtureWith(t, tt.mod)
			res := f.register("u1000", "secret", "c", "Supported: path", "Path: <sip:evil.example.net;lr>",
				"Contact: <sip:u1000@192.0.2.10:5062>")
			if res.StatusCode != 200 {
				t.Fatal(res.StartLine())
			}
			got := f.reg.Location().Lookup("u1000@example.com", f.now)
			stored := len(got) == 1 && len(got[0].Path) == 1
			if stored != tt.want || (res.GetHeader("Path") != nil) != tt.want {
				t.Fatalf("path stored %v (%v), echoed %v; want %v", stored, got, res.GetHeader("Path"), tt.want)
			}
		})
	}
}

func TestOutboundInstanceReplacesFlowAndPathEchoed(t *testing.T) {
	f := newFixtureWith(t, edgeAt)
	inst := `+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1`
	res := f.register("u1000", "secret", "boot-1", "Supported: path, outbound", "Path: <sip:edge.example.net;lr>",
		"Contact: <sip:u1000@192.0.2.10:5062;transport=tcp>;"+inst)
	if res.StatusCode != 200 || res.GetHeader("Require") == nil || res.GetHeader("Path") == nil {
		t.Fatalf("got %s, Require=%v Path=%v", res.StartLine(), res.GetHeader("Require"), res.GetHeader("Path"))
	}
	// After a reboot the phone comes back with a new Call-ID and port: the
	// same instance and reg-id replace the old flow instead of adding one.
	res = f.register("u1000", "secret", "boot-2", "Supported: outbound",
		"Contact: <sip:u1000@192.0.2.10:5999;transport=tcp>;"+inst)
	got := f.reg.Location().Lookup("u1000@example.com", f.now)
	if len(got) != 1 || !strings.Contains(got[0].ContactURI, "5999") {
		t.Fatalf("bindings after reboot = %+v", got)
	}
	if len(got[0].Path) != 0 {
		t.Errorf("path kept from the old flow: %v", got[0].Path)
	}
}

func TestMaxContactsEvictsSoonestExpiring(t *testing.T) {
	f := newFixture(t)
	for i := range 4 {
		res := f.register("u1000", "secret", fmt.Sprint("dev-", i), fmt.Sprintf("Contact: <sip:u1000@192.0.2.%d>;expires=%d", 10+i, 600+i*100))
		if res.StatusCode != 200 {
			t.Fatal(res.StartLine())
		}
	}
	got := f.reg.Location().Lookup("u1000@example.com", f.now)
	if len(got) != 3 {
		t.Fatalf("%d bindings, want max 3", len(got))
	}
	for _, b := range got {
		if strings.Contains(b.ContactURI, "192.0.2.10") {
			t.Error("the soonest-expiring binding was kept")
		}
	}
}

func TestStoreFailureAnswers503AndKeepsMemory(t *testing.T) {
	f := newFixture(t)
	f.p.fail = true
	res := f.register("u1000", "secret", "c", "Contact: <sip:u1000@192.0.2.10>")
	if res.StatusCode != 503 {
		t.Fatalf("got %s, want 503", res.StartLine())
	}
	if n, _ := f.reg.Location().Count(f.now); n != 0 {
		t.Fatal("a binding that was not persisted is visible")
	}
}

func TestExpiryAndPrune(t *testing.T) {
	f := newFixture(t)
	f.register("u1000", "secret", "c", "Contact: <sip:u1000@192.0.2.10>;expires=60")
	f.now = f.now.Add(61 * time.Second)
	if b := f.reg.Location().Lookup("u1000@example.com", f.now); len(b) != 0 {
		t.Fatalf("expired binding still returned: %+v", b)
	}
	if n := f.reg.loc.prune(f.now); n != 1 {
		t.Fatalf("pruned %d, want 1", n)
	}
}

func TestUnknownDomain(t *testing.T) {
	f := newFixture(t)
	raw := "REGISTER sip:other.org SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\nFrom: <sip:a@other.org>;tag=1\r\nTo: <sip:a@other.org>\r\nCall-ID: x\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
	msg, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if res := f.reg.register(context.Background(), msg.(*sip.Request)); res.StatusCode != 404 {
		t.Fatalf("got %s, want 404", res.StartLine())
	}
}

// TestProbesReported: REGISTERs over a stream for an AOR we do not serve,
// or for a user that does not exist, are reported to the guard as probes
// (many of them from one source are a scanner); over UDP, whose source may
// be forged, they are not.
func TestProbesReported(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ transport, to string }{
		{"TCP", "u1000@example.com"}, // exists: challenged, no probe
		{"TCP", "ghost@example.com"},
		{"TLS", "u1000@other.example.net"},
		{"UDP", "nobody@example.com"},
		{"UDP", "u1000@elsewhere.example.net"},
	} {
		f.cseq++
		req := f.request("x", "c", f.cseq, "Contact: <sip:x@192.0.2.10>")
		req.To().Address.User, req.To().Address.Host, _ = strings.Cut(tc.to, "@")
		req.SetTransport(tc.transport)
		f.reg.register(context.Background(), req)
	}
	if got := strings.Join(f.obs.probed, ","); got != "ghost,u1000@other.example.net" {
		t.Fatalf("probes %q, want ghost and u1000@other.example.net", got)
	}
}

// TestUnknownAuthScheme: credentials of a scheme the registrar does not
// know are no credentials: the REGISTER is challenged (RFC 4475 §3.3.7),
// and Digest credentials beside them are still used.
func TestUnknownAuthScheme(t *testing.T) {
	f := newFixture(t)
	res := f.reg.register(context.Background(), f.request("u1000", "call-a", 1,
		"Authorization: NoOneKnowsThisScheme opaque-data=here", "Contact: <sip:u1000@192.0.2.10>"))
	if res.StatusCode != 401 || len(res.GetHeaders("WWW-Authenticate")) == 0 {
		t.Fatalf("got %s, want 401 with a challenge", res.StartLine())
	}
	digest := authorize(t, res, "u1000", "secret")
	res = f.reg.register(context.Background(), f.request("u1000", "call-a", 2,
		"Authorization: NoOneKnowsThisScheme opaque-data=here", digest, "Contact: <sip:u1000@192.0.2.10>"))
	if res.StatusCode != 200 {
		t.Fatalf("unknown scheme then Digest: got %s, want 200", res.StartLine())
	}
}
