package config

import (
	"errors"
	"strings"
	"testing"
)

func TestProvisioningDefaults(t *testing.T) {
	c := Default()
	if c.Provisioning.Listen != "" || c.Provisioning.HTTPListen != "" || c.Provisioning.SettingsCheckInterval != 1 ||
		c.Directory.SearchMaxResults != 100 || c.ProvisioningHost() != "localhost" {
		t.Errorf("defaults %+v %+v host %q", c.Provisioning, c.Directory, c.ProvisioningHost())
	}
	c, err := Parse("t.yaml", []byte("domain: pbx.example.com\nsip: {public_address: gw.example.com}\n"))
	if err != nil || c.ProvisioningHost() != "gw.example.com" {
		t.Errorf("host %q, %v", c.ProvisioningHost(), err)
	}
}

// TestProvisioningErrors: each bad value is an error naming its key and
// line.
func TestProvisioningErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, key, msg string }{
		{"directory:\n  search_max_results: 501\n", "directory.search_max_results", "1 to 500"},
		{"directory:\n  search_max_results: 0\n", "directory.search_max_results", "1 to 500"},
		{"provisioning:\n  settings_check_interval: 0\n", "provisioning.settings_check_interval", "1 to 30"},
		{"provisioning:\n  listen: nonsense\n", "provisioning.listen", "host:port"},
		{"provisioning:\n  listen: 0.0.0.0:8443\n", "provisioning.listen", "http.listen"},
		{"provisioning:\n  listen: 127.0.0.1:411\n  http_listen: 0.0.0.0:411\n", "provisioning.http_listen", "provisioning.listen"},
		{"provisioning:\n  host: \"bad host\"\n", "provisioning.host", "not a valid host"},
		{"http:\n  listen: \"\"\nprovisioning:\n  listen: 0.0.0.0:411\n", "provisioning.listen", "needs http.listen"},
	} {
		_, err := Parse("t.yaml", []byte(tc.yaml))
		var es *Errors
		if !errors.As(err, &es) {
			t.Errorf("%q: err = %v", tc.yaml, err)
			continue
		}
		found := false
		for _, e := range *es {
			if e.Key == tc.key && strings.Contains(e.Error(), tc.msg) && e.Line > 0 {
				found = true
			}
		}
		if !found {
			t.Errorf("%q: %v, want %s: ...%s", tc.yaml, err, tc.key, tc.msg)
		}
	}
	if _, err := Parse("t.yaml", []byte("provisioning: {listen: 0.0.0.0:411, http_listen: 0.0.0.0:8411, avaya_clients_only: true}\ndirectory: {search_max_results: 500}\n")); err != nil {
		t.Errorf("valid: %v", err)
	}
}
