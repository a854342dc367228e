package config

import (
	"reflect"
	"testing"
	"time"
)

// TestFullExampleTrunk: the first trunk in full.yaml writes out every key
// with its default, the second takes them all by default.
func TestFullExampleTrunk(t *testing.T) {
	c, err := Load("testdata/valid/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Trunks) != 2 {
		t.Fatalf("trunks %+v", c.Trunks)
	}
	pbx := DefaultTrunk("pbx", "sip:pbx.example.com;transport=tcp")
	pbx.Match = []string{}
	for i, want := range []Trunk{
		pbx,
		DefaultTrunk("backup", "sips:10.20.0.9:5061"),
	} {
		if !reflect.DeepEqual(c.Trunks[i], want) {
			t.Errorf("trunks[%d] = %+v\nwant %+v", i, c.Trunks[i], want)
		}
	}
}

func TestTrunkDefaults(t *testing.T) {
	tests := []struct {
		name, in string
		check    func(*Config) bool
	}{
		{"entry defaults", "trunks: [{name: a, target: pbx.example.com}]",
			func(c *Config) bool { return reflect.DeepEqual(c.Trunks[0], DefaultTrunk("a", "pbx.example.com")) }},
		{"match", "trunks: [{name: a, target: 10.0.0.1, match: ['2000', '9x']}]",
			func(c *Config) bool { return reflect.DeepEqual(c.Trunks[0].Match, []string{"2000", "9x"}) }},
		{"probe off", "trunks: [{name: a, target: 10.0.0.1, probe: {interval: 0}}]",
			func(c *Config) bool { return c.Trunks[0].Probe.Interval == 0 && c.Trunks[0].Probe.UpAfter == 1 }},
		{"no failover codes", "trunks: [{name: a, target: 10.0.0.1, failover_codes: []}]",
			func(c *Config) bool { return len(c.Trunks[0].FailoverCodes) == 0 }},
		{"null entry keeps defaults", "trunks:\n  - name: a\n    target: 10.0.0.1\n    probe:\n",
			func(c *Config) bool { return c.Trunks[0].Probe.Interval.D() == 10*time.Second }},
		{"dns keys", "dns: {servers: ['10.0.0.53', '[2001:db8::53]:5353'], edns_buffer: 0, ipv6: false, max_stale: 0}",
			func(c *Config) bool {
				return len(c.DNS.Servers) == 2 && c.DNS.EDNSBuffer == 0 && !c.DNS.IPv6 && c.DNS.MaxStale == 0
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("x.yaml", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config: %+v %+v", c.DNS, c.Trunks)
			}
		})
	}
}
