package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// sippConfig is the gateway config for SIPp runs. SIPp 3.6 answers only
// the first WWW-Authenticate header and knows MD5 only: the registrar's
// default offers MD5 first, so no algorithms line is needed (the SIPp
// tests prove that default). 127.0.0.1 is trusted so that a burst of SIPp
// calls is never throttled by the per-source rate limit.
const sippConfig = `security: {trusted_callers: [127.0.0.1], exempt_sources: [127.0.0.1]}
`

// userNames returns n user names starting at u<first>.
func userNames(first, n int) []string {
	us := make([]string, n)
	for i := range us {
		us[i] = "u" + strconv.Itoa(first+i)
	}
	return us
}

// usersYAML is a users: block with password "secret" for each name.
func usersYAML(names ...[]string) string {
	var b strings.Builder
	b.WriteString("users:\n")
	for _, ns := range names {
		for _, n := range ns {
			fmt.Fprintf(&b, "  - {username: %s, password: secret}\n", n)
		}
	}
	return b.String()
}

// sippRun describes one SIPp client run: one call per user.
type sippRun struct {
	Scenario  string   // file in lab/sipp
	Transport string   // -t: u1, t1, l1
	Target    string   // host:port of the gateway
	Users     []string // password "secret"
	Password  string   // default "secret"
}

// runSIPp runs SIPp until every call ended and fails the test unless all
// calls succeeded (SIPp exit status 0).
func runSIPp(t *testing.T, r sippRun) {
	t.Helper()
	sipp := requireTool(t, "sipp")
	dir := t.TempDir()
	pw := r.Password
	if pw == "" {
		pw = "secret"
	}
	var csv strings.Builder
	csv.WriteString("SEQUENTIAL\n")
	for _, u := range r.Users {
		fmt.Fprintf(&csv, "%s;[authentication username=%s password=%s]\n", u, u, pw)
	}
	inf := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(inf, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	port, media, ctrl := freeSIPpPorts(t)
	args := []string{
		"-sf", filepath.Join(sippDir(t), r.Scenario), "-inf", inf, r.Target,
		// The digest uri must be the Request-URI (RFC 3261 §22.4); SIPp's
		// default is the remote address.
		"-auth_uri", "example.com",
		"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mp", strconv.Itoa(media), "-cp", strconv.Itoa(ctrl),
		"-t", r.Transport, "-m", strconv.Itoa(len(r.Users)), "-r", "200", "-l", "50",
		"-nostdin", "-timeout", "60s", "-timeout_error", "-trace_err",
	}
	if r.Transport == "l1" || r.Transport == "ln" {
		cert, key := writeKeyPair(t, dir)
		args = append(args, "-tls_cert", cert, "-tls_key", key)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sipp, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := runChild(cmd)
	if err != nil {
		errs, _ := filepath.Glob(filepath.Join(dir, "*_errors.log"))
		var el string
		for _, f := range errs {
			b, _ := os.ReadFile(f)
			el += string(b)
		}
		if len(el) > 4000 {
			el = el[:4000] + "..."
		}
		t.Fatalf("sipp %s over %s to %s: %v\nerrors:\n%s\noutput (tail):\n%s", r.Scenario, r.Transport, r.Target, err, el, tail(out.String(), 1500))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// freeSIPpPorts returns a free local SIP port (UDP and TCP), a media port
// with media+2 free (SIPp binds both) and a free control port, so parallel
// SIPp runs never fall back to 5060/6000/8888.
func freeSIPpPorts(t *testing.T) (sipPort, media, ctrl int) {
	t.Helper()
	free := func(network, host string, port int) bool {
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		if network == "tcp" {
			ln, err := net.Listen("tcp", addr)
			if err == nil {
				ln.Close()
			}
			return err == nil
		}
		pc, err := net.ListenPacket("udp", addr)
		if err == nil {
			pc.Close()
		}
		return err == nil
	}
	for range 100 {
		pc, err := net.ListenPacket("udp", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		p := pc.LocalAddr().(*net.UDPAddr).Port
		pc.Close()
		switch {
		case sipPort == 0:
			if free("tcp", "127.0.0.1", p) {
				sipPort = p
			}
		case media == 0:
			if p != sipPort && p+2 != sipPort && free("udp", "127.0.0.1", p+2) {
				media = p
			}
		case p != sipPort && p != media && p != media+2:
			return sipPort, media, p
		}
	}
	t.Fatal("no free ports for sipp")
	return 0, 0, 0
}

// writeKeyPair writes a self-signed ECDSA certificate and key (PEM) into
// dir and returns their paths.
func writeKeyPair(t *testing.T, dir string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "e2e-client"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, kf := filepath.Join(dir, "client-cert.pem"), filepath.Join(dir, "client-key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kf, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, kf
}

var (
	sippTLSOnce sync.Once
	sippTLS     bool
)

// sippHasTLS reports whether this SIPp was built with OpenSSL (Debian's
// sip-tester is not).
func sippHasTLS(t *testing.T) bool {
	t.Helper()
	sipp := requireTool(t, "sipp")
	sippTLSOnce.Do(func() {
		dir := t.TempDir()
		cert, key := writeKeyPair(t, dir)
		port, media, ctrl := freeSIPpPorts(t)
		cmd := exec.Command(sipp, "-sn", "uac", "127.0.0.1:9", "-t", "l1", "-tls_cert", cert, "-tls_key", key,
			"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mp", strconv.Itoa(media), "-cp", strconv.Itoa(ctrl),
			"-m", "1", "-nostdin", "-timeout", "1s")
		cmd.Dir = dir
		out, _ := combinedOutputChild(cmd)
		sippTLS = !strings.Contains(string(out), "compile SIPp with OpenSSL")
	})
	return sippTLS
}

// tlsTunnel accepts plain TCP on 127.0.0.1 and relays each connection over
// TLS to target: the TLS client for a SIPp built without OpenSSL. The
// gateway sees a real TLS connection.
func tlsTunnel(t *testing.T, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				u, err := tls.Dial("tcp", target, &tls.Config{InsecureSkipVerify: true}) // self-signed
				if err != nil {
					return
				}
				defer u.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(u, c); done <- struct{}{} }()
				go func() { _, _ = io.Copy(c, u); done <- struct{}{} }()
				<-done
			}()
		}
	}()
	return ln.Addr().String()
}

// TestSIPpRegister: SIPp registers 50 users each over UDP, TCP and TLS with
// digest authentication; the admin API then lists 150 bindings, each with
// the transport it registered on and SIPp as user agent.
func TestSIPpRegister(t *testing.T) {
	t.Parallel()
	requireTool(t, "sipp")
	const n = 50
	cases := []struct {
		transport string // as the admin API shows it
		flag      string
		first     int
	}{
		{"udp", "u1", 2000},
		{"tcp", "t1", 3000},
		{"tls", "l1", 4000},
	}
	var all [][]string
	for _, c := range cases {
		all = append(all, userNames(c.first, n))
	}
	g := startGateway(t, sippConfig+usersYAML(all...))
	t.Run("clients", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.transport, func(t *testing.T) {
				t.Parallel()
				target, flag := g.UDP, c.flag
				switch c.transport {
				case "tcp":
					target = g.TCP
				case "tls":
					target = g.TLS
					if !sippHasTLS(t) {
						t.Log("this sipp has no TLS; running it over a TLS tunnel")
						target, flag = tlsTunnel(t, g.TLS), "t1"
					}
				}
				runSIPp(t, sippRun{Scenario: "reg_auth.xml", Transport: flag, Target: target, Users: userNames(c.first, n)})
			})
		}
	})
	rs := g.waitRegistrations(5*time.Second, "150 bindings", func(rs []registration) bool { return len(rs) >= 3*n })
	m := byAOR(rs)
	for _, c := range cases {
		for _, u := range userNames(c.first, n) {
			r, ok := m[u+"@example.com"]
			if !ok {
				t.Errorf("%s: no binding", u)
				continue
			}
			if r.Transport != c.transport || r.UserAgent != "SIPp" || !strings.HasPrefix(r.Contact, "sip:"+u+"@127.0.0.1:") {
				t.Errorf("%s: binding %+v, want transport %s, user agent SIPp", u, r, c.transport)
			}
		}
	}
	if len(rs) != 3*n {
		t.Errorf("%d bindings, want %d", len(rs), 3*n)
	}
	g.requireAlive()
}

// TestKill9KeepsBindings: 20 users register over UDP, the gateway is killed
// with SIGKILL and started again on the same data_dir: all 20 bindings are
// back with their contacts (every 200 was persisted first).
func TestKill9KeepsBindings(t *testing.T) {
	t.Parallel()
	requireTool(t, "sipp")
	users := userNames(5000, 20)
	g := startGateway(t, sippConfig+usersYAML(users))
	runSIPp(t, sippRun{Scenario: "reg_auth.xml", Transport: "u1", Target: g.UDP, Users: users})
	before := byAOR(g.registrations())
	if len(before) != len(users) {
		t.Fatalf("before kill: %d bindings, want %d:\n%s", len(before), len(users), fmtRegs(g.registrations()))
	}
	g.kill9()
	g.start()
	if !strings.Contains(g.log.String(), "count=20") {
		t.Errorf("restart log does not say 20 bindings restored:\n%s", g.log.String())
	}
	after := byAOR(g.registrations())
	for _, u := range users {
		aor := u + "@example.com"
		a, ok := after[aor]
		if !ok {
			t.Errorf("%s lost after kill -9", aor)
			continue
		}
		b := before[aor]
		if a.Contact != b.Contact || a.Transport != b.Transport || !a.Expires.Equal(b.Expires) && a.Expires.Sub(b.Expires).Abs() > time.Second {
			t.Errorf("%s changed: before %+v, after %+v", aor, b, a)
		}
	}
	if len(after) != len(users) {
		t.Errorf("after restart: %d bindings, want %d", len(after), len(users))
	}
}

// TestIntervalTooBrief: an authenticated REGISTER asking for 30 s gets 423
// Interval Too Brief with Min-Expires: 60, from SIPp and from a raw client,
// and leaves no binding.
func TestIntervalTooBrief(t *testing.T) {
	t.Parallel()
	g := startGateway(t, sippConfig+usersYAML(userNames(1000, 3)))
	t.Run("sipp", func(t *testing.T) {
		runSIPp(t, sippRun{Scenario: "reg_too_brief.xml", Transport: "u1", Target: g.UDP, Users: userNames(1000, 2)})
	})
	t.Run("raw-udp", func(t *testing.T) {
		c := dialSIP(t, "udp", "127.0.0.1", g.UDP)
		res := c.register("u1002", "secret", "Expires: 30")
		if res.Status != 423 || res.get("Min-Expires") != "60" {
			t.Fatalf("got %d %s, Min-Expires %q; want 423 with Min-Expires: 60\n%s", res.Status, res.Reason, res.get("Min-Expires"), res.Raw)
		}
	})
	if rs := g.registrations(); len(rs) != 0 {
		t.Errorf("423 left bindings:\n%s", fmtRegs(rs))
	}
}
