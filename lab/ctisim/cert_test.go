package ctisim

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
)

// TestSelfSigned: a client that trusts the PEM completes a handshake for
// each name and address, and refuses another name.
func TestSelfSigned(t *testing.T) {
	cert, caPEM, err := SelfSigned("pbx", []net.IP{net.IPv4(127, 0, 0, 1)}, "pbx.test")
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
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("PEM not accepted")
	}
	for name, ok := range map[string]bool{"pbx.test": true, "127.0.0.1": true, "other.test": false} {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: name, MinVersion: tls.VersionTLS12})
		if (err == nil) != ok {
			t.Errorf("%s: err %v, want ok=%v", name, err, ok)
		}
		if c != nil {
			_ = c.Close()
		}
	}
}
