package config

import (
	"strings"
	"testing"
)

func TestCTIDriverConfigJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{address: "10.0.0.5:7001", user: csta, password: secret}`,
			`{"address":"10.0.0.5:7001","user":"csta","password":"secret"}`},
		{`{port: 7001, ratio: 1.5, tls: true, ca: null, hex: 0x10, list: [a, 2, {b: c}]}`,
			`{"port":7001,"ratio":1.5,"tls":true,"ca":null,"hex":16,"list":["a",2,{"b":"c"}]}`},
		{`{date: 2001-12-14, quoted: "007", html: "<a&b>", "1": one}`,
			`{"date":"2001-12-14","quoted":"007","html":"<a&b>","1":"one"}`},
		{`{}`, `{}`},
	}
	for _, tt := range tests {
		c, err := Parse("t.yaml", []byte("cti: {drivers: [{name: a, driver: mitel, config: "+tt.in+"}]}"))
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if got := string(c.CTI.Drivers[0].Config); got != tt.want {
			t.Errorf("%s\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

func TestCTIDriverConfigAliases(t *testing.T) {
	c, err := Parse("t.yaml", []byte("x: &c {address: 'pbx:1'}\n"))
	_ = c
	if err == nil {
		t.Fatal("unknown top key accepted")
	}
	in := "cti:\n  drivers:\n    - {name: a, driver: mitel, config: &c {address: 'pbx:1', user: u}}\n    - {name: b, driver: mitel, config: *c}\n"
	c, err = Parse("t.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if string(c.CTI.Drivers[1].Config) != `{"address":"pbx:1","user":"u"}` {
		t.Fatalf("alias: %s", c.CTI.Drivers[1].Config)
	}
	// An alias bomb: 10^6 leaves if expanded.
	var b strings.Builder
	b.WriteString("cti:\n  drivers:\n    - name: a\n      driver: mitel\n      config:\n        l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 5; i++ {
		b.WriteString("        l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*l" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	_, err = Parse("bomb.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "too many aliases") {
		t.Fatalf("alias bomb: %v", err)
	}
}

func TestCTIDefaults(t *testing.T) {
	c, err := Parse("t.yaml", []byte("cti: {drivers: [{name: pbx1, driver: mitel, monitor: ['201']}]}"))
	if err != nil {
		t.Fatal(err)
	}
	d := c.CTI.Drivers[0]
	if d.Config != nil || d.Path != "" || len(d.Monitor) != 1 {
		t.Fatalf("driver %+v", d)
	}
	if len(Default().CTI.Drivers) != 0 {
		t.Fatal("default has drivers")
	}
}

// TestFullExampleCTI: full.yaml's cti section as documented.
func TestFullExampleCTI(t *testing.T) {
	c, err := Load("testdata/valid/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.CTI.Drivers) != 1 {
		t.Fatalf("cti %+v", c.CTI)
	}
	d := c.CTI.Drivers[0]
	if d.Name != "pbx1" || d.Driver != "mitel" || string(d.Config) != `{"address":"10.20.0.10:7001","user":"csta","password":"secret"}` ||
		strings.Join(d.Monitor, ",") != "201,202" {
		t.Fatalf("driver %+v config %s", d, d.Config)
	}
}
