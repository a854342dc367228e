package app

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pturn "github.com/pion/turn/v5"

	"github.com/switchboard-gw/switchboard/media/turn"
)

// TestTURNWired: the gateway runs its TURN server from the config, makes
// and keeps a secret, hands out ICE servers whose credentials allocate,
// lists the allocation on the admin API and counts it in /metrics.
func TestTURNWired(t *testing.T) {
	a := runApp(t, "turn:\n  listen: [udp://127.0.0.1:0, tcp://127.0.0.1:0]\n  relay_address: 127.0.0.1\n"+
		"  port_min: 0\n  port_max: 0\n  allow_peers: [127.0.0.0/8]\n  public_host: 127.0.0.1\n", nil)
	if a.TURN() == nil {
		t.Fatal("turn not started")
	}
	secret, err := os.ReadFile(filepath.Join(a.cfg.DataDir, turnSecretFile))
	if err != nil || len(strings.TrimSpace(string(secret))) < 16 {
		t.Fatalf("secret file: %q %v", secret, err)
	}
	// The browser takes its ICE servers from the web phone's API, as
	// u1000 with Basic credentials (what the page does with its cookie).
	base := "https://" + a.AdminAddr()
	req, err := http.NewRequest("GET", base+"/phone/api/ice", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("u1000", "secret")
	res, err := clientFrom("127.0.0.1").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var got struct {
		ICEServers []turn.ICEServer `json:"ice_servers"`
	}
	if res.StatusCode != 200 {
		t.Fatalf("/phone/api/ice: %d %s", res.StatusCode, body)
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("/phone/api/ice: %v: %s", err, body)
	}
	ice := got.ICEServers
	if len(ice) != 2 || len(ice[1].URLs) != 2 || !strings.HasSuffix(ice[1].Username, ":u1000") {
		t.Fatalf("ice servers from the web phone API %+v (%s)", ice, body)
	}
	udp := strings.TrimSuffix(strings.TrimPrefix(ice[1].URLs[0], "turn:"), "?transport=udp")
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, err := pturn.NewClient(&pturn.ClientConfig{STUNServerAddr: udp, TURNServerAddr: udp, Username: ice[1].Username,
		Password: ice[1].Credential, Realm: "example.com", Conn: conn})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := c.Allocate()
	if err != nil {
		t.Fatalf("allocate with the web phone's credentials: %v", err)
	}
	defer relay.Close()

	code, body2 := get(t, authClient(a, "127.0.0.1"), base+"/api/v1/turn/allocations")
	var as []turn.Allocation
	if code != 200 || json.Unmarshal([]byte(body2), &as) != nil || len(as) != 1 || as[0].User != "u1000" {
		t.Fatalf("allocations: %d %s", code, body2)
	}
	if code, _ := get(t, clientFrom("127.0.0.2"), base+"/api/v1/turn/allocations"); code != 401 {
		t.Errorf("allocations from 127.0.0.2 without credentials: %d, want 401", code)
	}
	_, metrics := get(t, clientFrom("127.0.0.1"), base+"/metrics")
	for _, want := range []string{"switchboard_turn_allocations 1", "switchboard_turn_denied_peers_total 0",
		`switchboard_turn_auth_failures_total{reason="expired"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
