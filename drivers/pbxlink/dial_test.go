package pbxlink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/lab/ctisim"
)

// TestDial: plain TCP, TLS checked against the given roots and the
// address's host by default, and a refused certificate.
func TestDial(t *testing.T) {
	cert, caPEM, err := ctisim.SelfSigned("pbx", []net.IP{net.IPv4(127, 0, 0, 1)}, "pbx.test")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	defer func() { _ = ln.Close(); <-done }()
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			_ = c.Close()
		}
	}()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		t    *TLS
		ok   bool
	}{
		{"plain", nil, true},
		{"tls by address", &TLS{Roots: roots}, true},
		{"tls by name", &TLS{Roots: roots, ServerName: "pbx.test"}, true},
		{"tls wrong name", &TLS{Roots: roots, ServerName: "other.test"}, false},
		{"tls untrusted", &TLS{}, false},
		{"tls unchecked", &TLS{InsecureSkipVerify: true}, true},
	} {
		c, err := Dial(ctx, ln.Addr().String(), time.Second, tc.t)
		if err == nil && tc.t != nil {
			err = c.(*tls.Conn).HandshakeContext(ctx)
		}
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.name, err, tc.ok)
		}
		if c != nil {
			_ = c.Close()
		}
	}
}
