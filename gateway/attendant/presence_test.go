package attendant

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// TestPresenceSeed002 holds the presence mapping and aggregation to every
// row of seed 002's tables that applies (testdata/presence.golden).
func TestPresenceSeed002(t *testing.T) {
	f, err := os.Open("testdata/presence.golden")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	rows := 0
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, "|")
		if len(parts) != 3 {
			t.Fatalf("line %d: %q", n, line)
		}
		kind, in, want := strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1]), Presence(strings.TrimSpace(parts[2]))
		var got Presence
		switch kind {
		case "mivo400":
			got, err = FromMiVO400(in)
			if err != nil {
				t.Errorf("line %d: %v", n, err)
			}
		case "aggregate":
			var ps []Presence
			for _, p := range strings.Split(in, ",") {
				if p != "" {
					ps = append(ps, Presence(p))
				}
			}
			got = Aggregate(ps...)
		case "combine":
			d := newDevice("pbx", "1")
			d.known = true
			for _, kv := range strings.Fields(in) {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "line":
					d.known = v != "unknown"
					if l := LineState(v); l != LineIdle && l != LineUnknown {
						st := map[LineState]string{LineBusy: "connected", LineHeld: "hold", LineRinging: "alerting"}[l]
						var cs conn
						if err := cs.state.UnmarshalText([]byte(st)); err != nil {
							t.Fatal(err)
						}
						d.calls["c"] = &cs
					}
				case "user":
					if v != "" {
						if d.user, err = FromMiVO400(v); err != nil {
							t.Fatalf("line %d: %v", n, err)
						}
					}
				case "dnd":
					d.dnd = v == "true"
				case "stale":
					d.stale = v == "true"
				}
			}
			got = d.view().Presence
		default:
			t.Fatalf("line %d: kind %q", n, kind)
		}
		if got != want {
			t.Errorf("line %d %q: got %s, want %s", n, line, got, want)
		}
		rows++
	}
	if rows < 20 {
		t.Fatalf("only %d rows", rows)
	}
	// The reverse mapping shows each presence a user can set as a MiVO400 state.
	for _, p := range []Presence{PresenceAvailable, PresenceAway, PresenceBusy, PresenceDND} {
		if back, err := FromMiVO400(p.MiVO400()); err != nil || back != p {
			t.Errorf("%s -> %q -> %s %v", p, p.MiVO400(), back, err)
		}
	}
	if MaskDigits("+41 44 123 4567", 3) != "+41 44 123 4xxx" || MaskDigits("12", 3) != "xx" {
		t.Errorf("mask %q %q", MaskDigits("+41 44 123 4567", 3), MaskDigits("12", 3))
	}
}
