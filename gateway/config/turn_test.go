package config

import (
	"strings"
	"testing"
	"time"
)

func TestTURNDefaults(t *testing.T) {
	c := Default()
	tc := c.TURN
	if !tc.Enabled || len(tc.Listen) != 3 || tc.Listen[2] != "tls://0.0.0.0:5349" || tc.PortMin != 50000 ||
		tc.PortMax != 59999 || tc.Lifetime.D() != 10*time.Minute || tc.CredentialTTL.D() != 24*time.Hour || tc.UserQuota != 10 {
		t.Errorf("defaults %+v", tc)
	}
	if c.TURNRealm() != "localhost" {
		t.Errorf("realm %q, want the digest realm", c.TURNRealm())
	}
	if err := c.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

// TestTURNAllowPeersWarnings: opening loopback or cloud metadata is valid
// but warned about, with the line; a PBX subnet is not.
func TestTURNAllowPeersWarnings(t *testing.T) {
	for _, tc := range []struct {
		peers string
		warn  string
	}{
		{"[127.0.0.0/8]", "loopback"},
		{"[169.254.0.0/16]", "metadata"},
		{"[\"fd00::/8\"]", "metadata"},
		{"[0.0.0.0/0]", "loopback"},
		{"[10.20.0.0/16]", ""},
	} {
		c, err := Parse("t.yaml", []byte("turn:\n  allow_peers: "+tc.peers+"\n"))
		if err != nil {
			t.Fatalf("%s: %v", tc.peers, err)
		}
		ws := c.Warnings()
		switch {
		case tc.warn == "" && len(ws) != 0:
			t.Errorf("%s: warnings %v", tc.peers, ws)
		case tc.warn != "" && (len(ws) != 1 || !strings.Contains(ws[0].Msg, tc.warn) || ws[0].Line != 2 || ws[0].Key != "turn.allow_peers[0]"):
			t.Errorf("%s: warnings %v, want one about %s on line 2", tc.peers, ws, tc.warn)
		}
	}
}

// TestTURNDisabledStillChecked: a disabled section is checked all the same
// (it fails when turned on otherwise), but may have no listeners.
func TestTURNDisabledStillChecked(t *testing.T) {
	if _, err := Parse("t.yaml", []byte("turn:\n  enabled: false\n  listen: [nonsense]\n")); err == nil {
		t.Error("a bad listener passed because turn is disabled")
	}
	if _, err := Parse("t.yaml", []byte("turn:\n  enabled: false\n  listen: []\n")); err != nil {
		t.Errorf("disabled without listeners: %v", err)
	}
}
