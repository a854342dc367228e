package certs

import (
	"crypto/x509"
	"path/filepath"
	"testing"
)

func TestSelfSignedMadeOnceAndReused(t *testing.T) {
	dir := t.TempDir()
	cfg, self, err := Load("", "", dir, []string{"example.com", "192.0.2.7"})
	if err != nil || !self {
		t.Fatalf("Load: self=%v err=%v", self, err)
	}
	leaf, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("example.com"); err != nil {
		t.Errorf("certificate does not cover example.com: %v", err)
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("certificate does not cover 127.0.0.1: %v", err)
	}
	again, _, err := Load("", "", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.Certificates[0].Certificate[0]) != string(cfg.Certificates[0].Certificate[0]) {
		t.Error("second start made a new certificate instead of reusing the first")
	}
}

func TestConfiguredPairMissing(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := Load(filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem"), dir, nil); err == nil {
		t.Fatal("missing configured certificate must be an error")
	}
}
