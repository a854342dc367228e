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

func TestParseSIPTarget(t *testing.T) {
	tests := []struct {
		in   string
		want SIPTarget
		err  bool
	}{
		{in: "sip:pbx.example.com", want: SIPTarget{Host: "pbx.example.com"}},
		{in: "SIP:PBX.Example.COM.;transport=TCP", want: SIPTarget{Host: "pbx.example.com", Transport: "tcp"}},
		{in: "sips:pbx.example.com;transport=tcp", want: SIPTarget{Secure: true, Host: "pbx.example.com", Transport: "tls"}},
		{in: "sips:pbx.example.com;transport=ws", want: SIPTarget{Secure: true, Host: "pbx.example.com", Transport: "wss"}},
		{in: "sip:1000@10.0.0.5:5080;lr", want: SIPTarget{User: "1000", Host: "10.0.0.5", Port: 5080}},
		{in: "sip:[2001:db8::5]:5070", want: SIPTarget{Host: "2001:db8::5", Port: 5070}},
		{in: "pbx.example.com:5060", want: SIPTarget{Host: "pbx.example.com", Port: 5060}},
		{in: "10.0.0.5", want: SIPTarget{Host: "10.0.0.5"}},
		{in: "sip:proxy.example.com;maddr=10.0.0.9", want: SIPTarget{Host: "10.0.0.9"}},
		{in: "sip:pbx.example.com;transport=sctp", err: true},
		{in: "sips:pbx.example.com;transport=udp", err: true},
		{in: "sip:user:pw@pbx.example.com", err: true},
		{in: "sip:pbx.example.com?subject=x", err: true},
		{in: "sip:2001:db8::1", err: true},
		{in: "sip:", err: true},
		{in: "sip:pbx_example.com", err: true},
		{in: "sip:pbx.example.com:99999", err: true},
		{in: "https://pbx.example.com", err: true},
	}
	for _, tt := range tests {
		got, err := ParseSIPTarget(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("ParseSIPTarget(%q) error = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if !tt.err && got != tt.want {
			t.Errorf("ParseSIPTarget(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	// String round-trips.
	for _, s := range []string{"sip:pbx.example.com;transport=tcp", "sips:[2001:db8::5]:5061", "sip:1000@10.0.0.5", "sips:h.example;transport=ws"} {
		t1, err := ParseSIPTarget(s)
		if err != nil {
			t.Fatal(err)
		}
		if t2, _ := ParseSIPTarget(t1.String()); t1.String() != s || t2 != t1 {
			t.Errorf("%q -> %q", s, t1.String())
		}
	}
}
