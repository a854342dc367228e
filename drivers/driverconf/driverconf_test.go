package driverconf

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: `"180s"`, want: 180 * time.Second},
		{in: `"1m30s"`, want: 90 * time.Second},
		{in: `15`, want: 15 * time.Second},
		{in: `0.5`, want: 500 * time.Millisecond},
		{in: `"soon"`, err: `duration "soon"`},
		{in: `true`, err: "want a string"},
	} {
		var d Duration
		err := json.Unmarshal([]byte(tc.in), &d)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || d.D() != tc.want {
			t.Errorf("%s: %v, %v; want %v", tc.in, d.D(), err, tc.want)
		}
		b, _ := json.Marshal(d)
		var back Duration
		if err := json.Unmarshal(b, &back); err != nil || back != d {
			t.Errorf("%s: round trip %s → %v, %v", tc.in, b, back.D(), err)
		}
	}
}

func TestDecodeStrict(t *testing.T) {
	var v struct {
		A Duration `json:"a"`
	}
	if err := DecodeStrict("x config", []byte("  \n"), &v); err != nil || v.A != 0 {
		t.Fatalf("empty: %v %v", v, err)
	}
	if err := DecodeStrict("x config", []byte(`{"b":1}`), &v); err == nil || !strings.HasPrefix(err.Error(), "x config: ") {
		t.Fatalf("unknown key: %v", err)
	}
	if err := DecodeStrict("x config", []byte(`{"a":"2s"}`), &v); err != nil || v.A.D() != 2*time.Second {
		t.Fatalf("a: %v %v", v, err)
	}
	Default(&v.A, time.Hour)
	if v.A.D() != 2*time.Second {
		t.Fatalf("Default overwrote a set value: %v", v.A.D())
	}
}

func TestProblems(t *testing.T) {
	p := NewProblems("x config")
	if p.Err() != nil {
		t.Fatal("no problems yet")
	}
	p.Backoff(Duration(time.Second), Duration(time.Second))
	p.RequestTimeout(Duration(time.Second))
	if p.Err() != nil {
		t.Fatalf("good values: %v", p.Err())
	}
	p.Backoff(0, Duration(time.Second))
	p.Backoff(Duration(2*time.Second), Duration(time.Second))
	p.RequestTimeout(0)
	p.Add("odd %d", 7)
	want := "x config: reconnect_min 0s / reconnect_max 1s: want 0 < min <= max\n" +
		"x config: reconnect_min 2s / reconnect_max 1s: want 0 < min <= max\n" +
		"x config: request_timeout must be positive\nx config: odd 7"
	if got := p.Err().Error(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestLoadCAFile(t *testing.T) {
	if roots, err := LoadCAFile("x config", ""); roots != nil || err != nil {
		t.Fatalf("empty: %v %v", roots, err)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{filepath.Join(dir, "missing.pem"), bad} {
		_, err := LoadCAFile("x config", f)
		if !errors.Is(err, plugins.ErrInvalidArgument) || !strings.HasPrefix(err.Error(), "x config: tls_ca_file") {
			t.Errorf("%s: %v", f, err)
		}
	}
}
