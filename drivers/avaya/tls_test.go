package avaya_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/avaya"
	labavaya "github.com/switchboard-gw/switchboard/lab/avaya"
	"github.com/switchboard-gw/switchboard/plugins"
)

// selfSigned returns a server certificate for 127.0.0.1 and its PEM.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pbx"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"pbx.test"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestTLS(t *testing.T) {
	cert, caPEM := selfSigned(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, labavaya.Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}},
		map[string]any{"tls": true, "tls_ca_file": ca, "tls_server_name": "pbx.test"})
	e.monitor("201", "202")
	connect(t, e, "201", "202")
	if e.sim.Sessions() != 1 {
		t.Fatalf("sessions %d", e.sim.Sessions())
	}

	// An untrusted certificate never gets a session: the driver keeps
	// retrying and says the link is down.
	sim, err := labavaya.New(simConfig(labavaya.Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}}))
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	d := newDriverOnly(t, sim.Addr(), map[string]any{"tls": true})
	if _, err := d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"}); err == nil {
		t.Fatal("call over an untrusted link succeeded")
	}
	if sim.Sessions() != 0 {
		t.Fatal("session over an untrusted certificate")
	}
}

// newDriverOnly starts a driver whose events nobody reads.
func newDriverOnly(t *testing.T, addr string, extra map[string]any) *avaya.Driver {
	t.Helper()
	d := avaya.New()
	if err := d.Start(bg, plugins.StartRequest{Config: driverConfig(addr, extra)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}
