package mitel_test

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard-gw/switchboard/lab/ctisim"
	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
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
	e := newEnv(t, labmitel.Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}},
		map[string]any{"tls": true, "tls_ca_file": ca, "tls_server_name": "pbx.test"})
	e.monitor("201", "202")
	connect(t, e, "201", "202")

	// An untrusted certificate never gets a session: the driver keeps
	// retrying and says the link is down.
	sim, err := labmitel.New(labmitel.Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
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
