package avaya_test

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/avaya"
	labavaya "github.com/switchboard-gw/switchboard/lab/avaya"
	"github.com/switchboard-gw/switchboard/lab/ctisim"
	"github.com/switchboard-gw/switchboard/plugins"
)

// selfSigned returns a server certificate for 127.0.0.1 and pbx.test, and
// its PEM.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	cert, caPEM, err := ctisim.SelfSigned("pbx", []net.IP{net.IPv4(127, 0, 0, 1)}, "pbx.test")
	if err != nil {
		t.Fatal(err)
	}
	return cert, caPEM
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
