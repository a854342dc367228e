package config

import (
	"errors"
	"flag"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/invalid/*.golden")

// TestValid loads every testdata/valid file.
func TestValid(t *testing.T) {
	files, err := filepath.Glob("testdata/valid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no valid testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			c, err := Load(f)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate after Load: %v", err)
			}
		})
	}
}

// TestInvalid checks that every testdata/invalid/NAME.yaml fails with
// exactly the lines in NAME.golden.
func TestInvalid(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse(filepath.Base(f), data)
			if err == nil {
				t.Fatalf("Parse succeeded, want errors; config %+v", c)
			}
			if c != nil {
				t.Errorf("Parse returned a config with errors")
			}
			var errs *Errors
			if !errors.As(err, &errs) || len(*errs) == 0 {
				t.Fatalf("error %T is not a non-empty *Errors: %v", err, err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

func TestDefault(t *testing.T) {
	d := Default()
	if err := d.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	for _, in := range []string{"", "# only a comment\n", "---\n", "~\n"} {
		c, err := Parse("x.yaml", []byte(in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if !reflect.DeepEqual(c, d) {
			t.Errorf("Parse(%q) = %+v, want Default() %+v", in, c, d)
		}
	}
	if got, want := d.Store, filepath.Join("var", "switchboard.db"); got != want {
		t.Errorf("default store = %q, want %q", got, want)
	}
	if got := d.Realm(); got != "localhost" {
		t.Errorf("default realm = %q", got)
	}
	// MD5 first: clients that read only the first challenge know it.
	if got := d.Registrar.Algorithms; !reflect.DeepEqual(got, []string{"MD5", "SHA-256"}) {
		t.Errorf("default registrar.algorithms = %q, want [MD5 SHA-256]", got)
	}
	want := []Listener{
		{"udp", "0.0.0.0", 5060, ""},
		{"tcp", "0.0.0.0", 5060, ""},
		{"tls", "0.0.0.0", 5061, ""},
		{"wss", "0.0.0.0", 8089, "/ws"},
	}
	if got := d.Listeners(); !reflect.DeepEqual(got, want) {
		t.Errorf("default listeners = %+v, want %+v", got, want)
	}
}

// TestParse checks decoded values and the defaults derived from them.
func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		check    func(*Config) bool
	}{
		{"domain as string", "domain: example.com",
			func(c *Config) bool { return reflect.DeepEqual(c.Domains(), []string{"example.com"}) }},
		{"domain as list", "domain: [a.example, b.example]",
			func(c *Config) bool { return reflect.DeepEqual(c.Domains(), []string{"a.example", "b.example"}) }},
		{"realm defaults to first domain", "domain: [a.example, b.example]",
			func(c *Config) bool { return c.Realm() == "a.example" }},
		{"realm given", "registrar: {realm: corp}",
			func(c *Config) bool { return c.Realm() == "corp" }},
		{"store follows data_dir", "data_dir: /srv/sb",
			func(c *Config) bool { return c.Store == "/srv/sb/switchboard.db" }},
		{"store given", "store: postgres://u:p@db/sb",
			func(c *Config) bool { return c.Store == "postgres://u:p@db/sb" }},
		{"http tls follows sip tls", "sip: {tls: {cert: c.pem, key: k.pem}}",
			func(c *Config) bool { return c.HTTP.TLS == TLS{Cert: "c.pem", Key: "k.pem"} }},
		{"http tls given", "sip: {tls: {cert: c.pem, key: k.pem}}\nhttp: {tls: {cert: h.pem, key: hk.pem}}",
			func(c *Config) bool { return c.HTTP.TLS.Cert == "h.pem" }},
		{"null keeps default", "sip:\n  server_name:\n",
			func(c *Config) bool { return c.SIP.ServerName == "Switchboard" }},
		{"nested keys keep sibling defaults", "registrar: {max_contacts: 3}",
			func(c *Config) bool { return c.Registrar.MaxContacts == 3 && c.Registrar.DefaultExpires == 3600 }},
		{"durations", "sip: {ws_ping_interval: 0}\nregistrar: {nonce_ttl: 90s}\nsecurity: {ban: {window: 1h30m}}",
			func(c *Config) bool {
				return c.SIP.WSPingInterval == 0 && c.Registrar.NonceTTL.D() == 90*time.Second &&
					c.Security.Ban.Window.D() == 90*time.Minute
			}},
		{"ws path defaults", "sip: {listen: ['ws://127.0.0.1:0', 'wss://[::1]:8089/phone']}",
			func(c *Config) bool {
				return reflect.DeepEqual(c.Listeners(), []Listener{
					{"ws", "127.0.0.1", 0, "/ws"}, {"wss", "::1", 8089, "/phone"},
				})
			}},
		{"port 0 twice is fine", "sip: {listen: ['tcp://127.0.0.1:0', 'ws://127.0.0.1:0']}\nhttp: {listen: '127.0.0.1:0'}",
			func(c *Config) bool { return len(c.Listeners()) == 2 }},
		{"udp and tcp share a port", "sip: {listen: ['udp://:5060', 'tcp://:5060']}",
			func(c *Config) bool { return len(c.Listeners()) == 2 }},
		{"http disabled", "http: {listen: ''}",
			func(c *Config) bool { return c.HTTP.Listen == "" }},
		{"trusted caller prefixes", "security: {trusted_callers: [10.1.2.3/8, 192.0.2.7, '2001:db8::1']}",
			func(c *Config) bool {
				return reflect.DeepEqual(c.TrustedCallerPrefixes(), []netip.Prefix{
					netip.MustParsePrefix("10.0.0.0/8"),
					netip.MustParsePrefix("192.0.2.7/32"),
					netip.MustParsePrefix("2001:db8::1/128"),
				}) && len(c.Warnings()) == 1 && c.Warnings()[0].Key == "security.trusted_callers[0]"
			}},
		{"exempt and edge prefixes", "security: {exempt_sources: [192.0.2.0/24, '2001:db8::/48']}\nregistrar: {edge_proxies: [198.51.100.4]}",
			func(c *Config) bool {
				return reflect.DeepEqual(c.ExemptPrefixes(), []netip.Prefix{
					netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/48"),
				}) && reflect.DeepEqual(c.EdgeProxyPrefixes(), []netip.Prefix{netip.MustParsePrefix("198.51.100.4/32")}) &&
					len(c.Warnings()) == 1 && c.Warnings()[0].Line == 1 && strings.Contains(c.Warnings()[0].Msg, "wider than /64")
			}},
		{"qop required by default", "", func(c *Config) bool { return c.Registrar.RequireQOP && c.Security.Ban.ScanUsers == 10 }},
		{"qop relaxed", "registrar: {require_qop: false}", func(c *Config) bool { return !c.Registrar.RequireQOP }},
		{"security.trusted is refused", "security: {trusted: [192.0.2.7]}", nil},
		{"numeric strings", "users: [{username: '1000', password: 1234, extension: 1000}]",
			func(c *Config) bool { return c.Users[0].Password == "1234" && c.Users[0].Extension == "1000" }},
		{"unknown key is an error", "x_: &p secret\n", nil},
		{"alias values", "sip:\n  listen: &l ['udp://:5070']\nregistrar:\n  algorithms: &a [MD5]\n",
			func(c *Config) bool { return c.Registrar.Algorithms[0] == "MD5" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("t.yaml", []byte(tt.in))
			if tt.check == nil {
				if err == nil {
					t.Fatalf("Parse succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config: %+v", c)
			}
		})
	}
}

func TestParseListener(t *testing.T) {
	tests := []struct {
		in   string
		want Listener
		err  string
	}{
		{in: "udp://0.0.0.0:5060", want: Listener{"udp", "0.0.0.0", 5060, ""}},
		{in: "TCP://host.example:5060", want: Listener{"tcp", "host.example", 5060, ""}},
		{in: "tls://:5061", want: Listener{"tls", "", 5061, ""}},
		{in: "wss://[::]:8089", want: Listener{"wss", "::", 8089, "/ws"}},
		{in: "ws://[fe80::1%25eth0]:80/x", want: Listener{"ws", "fe80::1%eth0", 80, "/x"}},
		{in: "0.0.0.0:5060", err: "must be a URL"},
		{in: "sctp://0.0.0.0:5060", err: "unknown scheme"},
		{in: "udp://0.0.0.0", err: "missing port"},
		{in: "udp://0.0.0.0:65536", err: "from 0 to 65535"},
		{in: "udp://0.0.0.0:5060/ws", err: "only allowed for ws"},
		{in: "udp://bad_host:5060", err: "not an IP address or host name"},
		{in: "udp://[nothost]:5060", err: "not a valid URL"},
		{in: "udp://u@h:5060", err: "user information"},
		{in: "ws://h:80/ws?x=1", err: "query"},
		{in: "udp://h:x", err: "not a valid URL"},
	}
	for _, tt := range tests {
		got, err := ParseListener(tt.in)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseListener(%q) error = %v, want %q", tt.in, err, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("ParseListener(%q): %v", tt.in, err)
		case tt.err == "" && got != tt.want:
			t.Errorf("ParseListener(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	l := Listener{"wss", "::1", 8089, "/ws"}
	if l.String() != "wss://[::1]:8089/ws" || l.Network() != "tcp" || l.Addr() != "[::1]:8089" {
		t.Errorf("Listener methods: %s %s %s", l, l.Network(), l.Addr())
	}
}

func TestValidUsername(t *testing.T) {
	for s, want := range map[string]bool{
		"u1000": true, "1000": true, "a.b_c+d-e": true, strings.Repeat("a", 64): true,
		"": false, ".a": false, "-a": false, "a b": false, "a@b": false, strings.Repeat("a", 65): false,
	} {
		if got := ValidUsername(s); got != want {
			t.Errorf("ValidUsername(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
	if want := path + ": cannot read file: no such file or directory"; err.Error() != want {
		t.Errorf("Load(missing) = %q, want %q", err, want)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "f.yaml", Line: 3, Key: "sip.listen[2]", Msg: "bad"}, "f.yaml:3: sip.listen[2]: bad"},
		{Error{File: "f.yaml", Key: "domain", Msg: "bad"}, "f.yaml: domain: bad"},
		{Error{File: "f.yaml", Line: 1, Msg: "bad"}, "f.yaml:1: bad"},
		{Error{Key: "domain", Msg: "bad"}, "domain: bad"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	es := Errors{tests[0].e, tests[1].e}
	if got := es.Error(); got != tests[0].want+"\n"+tests[1].want {
		t.Errorf("Errors.Error() = %q", got)
	}
}

func TestValidateWithoutFile(t *testing.T) {
	c := Default()
	c.Users = []User{{Username: "a"}}
	err := c.Validate()
	if err == nil || err.Error() != "users[0].password: must not be empty" {
		t.Fatalf("Validate() = %v", err)
	}
}

func TestTooManyErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("users:\n")
	for range 2 * maxErrors {
		b.WriteString("  - {username: '-', password: ''}\n")
	}
	_, err := Parse("big.yaml", []byte(b.String()))
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse = %v", err)
	}
	if n := len(*errs); n != maxErrors+1 || (*errs)[n-1].Msg != errTooMany {
		t.Errorf("got %d errors, last %q", n, (*errs)[n-1].Msg)
	}
}

// TestFullExampleShowsDefaults keeps testdata/valid/full.yaml honest: apart
// from the keys that have no default value to show, it must equal Default().
func TestFullExampleShowsDefaults(t *testing.T) {
	c, err := Load("testdata/valid/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	c.Domain = d.Domain
	c.Store = d.Store // written as ./var/switchboard.db, the same file
	c.SIP.TLS, c.HTTP.TLS = d.SIP.TLS, d.HTTP.TLS
	c.Security.TrustedCallers, c.Security.ExemptSources = d.Security.TrustedCallers, d.Security.ExemptSources
	c.Registrar.EdgeProxies = d.Registrar.EdgeProxies
	if len(c.Warnings()) != 0 {
		t.Errorf("full.yaml warns: %v", c.Warnings())
	}
	c.SIP.WSOrigins = d.SIP.WSOrigins // [] in the file, nil by default: both any origin
	c.Users = d.Users
	c.DNS.Servers, c.Trunks = d.DNS.Servers, d.Trunks // checked in trunks_test.go
	c.CTI = d.CTI                                     // checked in cti_test.go
	c.CallPolicy.Classes = d.CallPolicy.Classes       // an example class
	c.CallPolicy.Deny = d.CallPolicy.Deny             // [] in the file, nil by default
	if !reflect.DeepEqual(c, d) {
		t.Errorf("full.yaml differs from Default():\n got %+v\nwant %+v", c, d)
	}
}
