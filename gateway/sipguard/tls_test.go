package sipguard

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/netip"
	"testing"
	"time"
)

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "gw.example.com"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestTLSStack runs the documented TLS stack: StreamListener over
// tls.NewListener over AcceptListener, with the per-IP limit counted once.
func TestTLSStack(t *testing.T) {
	checkLeaks(t)
	g := New(Options{Logger: quietLogger(), MaxConnsPerIP: 1})
	s := newSIPServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conf := &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.srv.ServeTLS(g.StreamListener(tls.NewListener(g.AcceptListener(ln), conf)))
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
	})
	dial := func() *tcpClient {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return &tcpClient{t: t, c: c, br: bufio.NewReader(c)}
	}
	c := dial()
	c.write(sipReq("OPTIONS", "TLS", "", ""))
	c.expect("SIP/2.0 200 OK")
	if n := g.Stats().Conns; n != 1 {
		t.Fatalf("Conns %d, want 1 (counted once)", n)
	}
	// Over the limit: refused before any TLS handshake.
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	(&tcpClient{t: t, c: raw, br: bufio.NewReader(raw)}).expectClosed(2 * time.Second)
	// A ban closes the TLS connection.
	g.Ban(netip.MustParseAddr("127.0.0.1"), time.Minute, "test")
	c.expectClosed(2 * time.Second)
	waitFor(t, "conns released", func() bool { return g.Stats().Conns == 0 })
}
