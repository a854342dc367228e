package app

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	pturn "github.com/pion/turn/v5"
)

// TestTURNDTLSWired: turn.listen's dtls:// listener (RFC 7350) runs with
// the gateway's certificate, and the REST credentials the gateway mints
// allocate over it.
func TestTURNDTLSWired(t *testing.T) {
	a := runApp(t, "turn:\n  listen: [udp://127.0.0.1:0, dtls://127.0.0.1:0]\n  relay_address: 127.0.0.1\n"+
		"  port_min: 0\n  port_max: 0\n  allow_peers: [127.0.0.0/8]\n  public_host: 127.0.0.1\n", nil)
	if a.TURN() == nil {
		t.Fatal("turn not started")
	}
	var addr string
	for _, b := range a.TURN().Bound() {
		if b.Scheme == "dtls" {
			addr = b.Addr.String()
		}
	}
	if addr == "" {
		t.Fatalf("no dtls listener: %+v", a.TURN().Bound())
	}
	ra, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.DialUDP("udp", nil, ra)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := dtls.Client(connectedUDP{pc}, ra, &dtls.Config{InsecureSkipVerify: true, //nolint:gosec // the self-signed certificate
		ExtendedMasterSecret: dtls.RequireExtendedMasterSecret})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := conn.HandshakeContext(ctx); err != nil {
		t.Fatalf("dtls handshake: %v", err)
	}
	if st, ok := conn.ConnectionState(); !ok || len(st.PeerCertificates) == 0 {
		t.Error("the gateway presented no certificate")
	}
	ice := a.TURN().ICEServers("u1000", time.Now())
	if len(ice) < 2 {
		t.Fatalf("ice servers %+v", ice)
	}
	c, err := pturn.NewClient(&pturn.ClientConfig{STUNServerAddr: addr, TURNServerAddr: addr, Username: ice[1].Username,
		Password: ice[1].Credential, Realm: "example.com", Conn: pturn.NewSTUNConn(conn)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := c.Allocate()
	if err != nil {
		t.Fatalf("allocate over DTLS: %v", err)
	}
	defer relay.Close()
	if got := len(a.TURN().Allocations()); got != 1 {
		t.Errorf("%d allocations listed, want 1", got)
	}
}

// connectedUDP is a connected UDP socket as the packet conn of a DTLS
// client.
type connectedUDP struct{ *net.UDPConn }

func (c connectedUDP) WriteTo(p []byte, _ net.Addr) (int, error) { return c.Write(p) }
