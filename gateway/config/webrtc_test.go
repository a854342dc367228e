package config

import (
	"testing"
	"time"
)

// TestWebRTCDefaults: no webrtc section gives the bridge on UDP 10000 with
// a 20 s consent timeout; enabled: false skips the checks of the rest.
func TestWebRTCDefaults(t *testing.T) {
	c, err := Parse("t.yaml", []byte("domain: example.com\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.WebRTC.On() || c.WebRTC.Port != 10000 || c.WebRTC.ConsentTimeout.D() != 20*time.Second {
		t.Fatalf("defaults = %+v", c.WebRTC)
	}
	c, err = Parse("t.yaml", []byte("domain: example.com\nwebrtc: {enabled: false, port: 0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.WebRTC.On() {
		t.Fatal("enabled: false is on")
	}
}
