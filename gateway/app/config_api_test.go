package app

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/gateway/config"
)

// TestConfigMasksSecrets: no secret of testdata/secrets.yaml (passwords,
// the TURN secret, a driver's password, token and client secret, the TLS
// key's file) appears anywhere in the config view's JSON; the keys and
// the other values do; a postgres URL loses its password.
func TestConfigMasksSecrets(t *testing.T) {
	cfg, err := config.Load("testdata/secrets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(configView(cfg, true))
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	if strings.Contains(out, "S3CR3T") {
		i := strings.Index(out, "S3CR3T")
		t.Fatalf("a secret is shown: …%s…", out[max(0, i-80):min(len(out), i+40)])
	}
	for _, want := range []string{`"password":"********"`, `"secret":"********"`, `"api_token":"********"`,
		`"client_secret":"********"`, `"address":"127.0.0.1:3211"`, `"target":"sip:127.0.0.1:5999"`, `"username":"u1000"`} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in %s", want, out)
		}
	}
	raw, _ := os.ReadFile("testdata/secrets.yaml")
	if n := strings.Count(string(raw), "S3CR3T"); n < 8 {
		t.Fatalf("testdata holds %d secrets", n)
	}
	if got := maskURL("postgres://sb:S3CR3T@db.example/switchboard"); strings.Contains(got, "S3CR3T") || !strings.Contains(got, "sb:") {
		t.Errorf("store URL %q", got)
	}
}

// TestConfigMaskedOverHTTP: GET /api/v1/config of a running gateway with
// a trunk's passwords shows neither.
func TestConfigMaskedOverHTTP(t *testing.T) {
	r := startReloadApp(t, `users:
  - {username: u1000, password: S3CR3T-user}
trunks:
  - name: pbx
    target: "sip:127.0.0.1:5999"
    auth: {user: gw2, password: S3CR3T-auth}
`, nil)
	code, b := r.api("GET", "/api/v1/config")
	if code != 200 || strings.Contains(string(b), "S3CR3T") || !strings.Contains(string(b), `"target": "sip:127.0.0.1:5999"`) {
		t.Fatalf("GET /api/v1/config: %d %s", code, b)
	}
}

// TestDiffKeys: the keys a reload reports, named lists compared entry by
// entry.
func TestDiffKeys(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want []string
	}{
		{"nothing", "", "", nil},
		{"scalar", "registrar: {min_expires: 60}", "registrar: {min_expires: 300}", []string{"registrar.min_expires"}},
		{"list of strings whole", "sip: {listen: [udp://127.0.0.1:5060]}", "sip: {listen: [udp://127.0.0.1:5070]}", []string{"sip.listen"}},
		{"trunk added", "", "trunks: [{name: b, target: 10.0.0.2}]", []string{"trunks[b]"}},
		{"trunk field", "trunks: [{name: a, target: 10.0.0.1}, {name: b, target: 10.0.0.2}]",
			"trunks: [{name: b, target: 10.0.0.2}, {name: a, target: 10.0.0.3}]", []string{"trunks[a].target"}},
		{"user removed", "users: [{username: u1, password: x}, {username: u2, password: y}]",
			"users: [{username: u1, password: x}]", []string{"users[u2]"}},
		{"driver config", "cti: {drivers: [{name: p, driver: mitel, config: {address: a}}]}",
			"cti: {drivers: [{name: p, driver: mitel, config: {address: b}}]}", []string{"cti.drivers[p].config.address"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := config.Parse("a.yaml", []byte(tt.a))
			if err != nil {
				t.Fatal(err)
			}
			b, err := config.Parse("b.yaml", []byte(tt.b))
			if err != nil {
				t.Fatal(err)
			}
			if got := diffKeys(configView(a, false), configView(b, false)); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestMatchKey: which changed keys a reloader owns.
func TestMatchKey(t *testing.T) {
	for _, tt := range []struct {
		keys []string
		key  string
		want bool
	}{
		{[]string{"trunks"}, "trunks[pbx].target", true},
		{[]string{"trunks"}, "trunks[pbx]", true},
		{[]string{"trunks"}, "trunksx", false},
		{restartKeys, "trunks[pbx].media_interface", true},
		{[]string{"registrar.min_expires"}, "registrar.max_expires", false},
		{[]string{"cti.drivers"}, "cti.drivers[p].config.address", true},
	} {
		if got := matchKey(tt.keys, tt.key); got != tt.want {
			t.Errorf("matchKey(%v, %s) = %v", tt.keys, tt.key, got)
		}
	}
}

// TestConfigOpenAPIFragment: openapi/config.json is an OpenAPI 3.1
// document describing exactly the routes configRoutes registers.
func TestConfigOpenAPIFragment(t *testing.T) {
	b, err := os.ReadFile("openapi/config.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	var got []string
	for p, ops := range doc.Paths {
		for m := range ops {
			got = append(got, strings.ToUpper(m)+" "+p)
		}
	}
	slices.Sort(got)
	s := &adminServer{}
	mux := http.NewServeMux()
	s.configRoutes(mux)
	want := slices.Clone(s.routes)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("fragment operations %v, routes %v", got, want)
	}
}
