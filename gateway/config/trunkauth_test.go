package config

import (
	"strings"
	"testing"
)

// TestTrunkAuth: trunks[].auth answers INVITE challenges, defaulting to
// the register credentials; a password without a user (and the reverse)
// is refused with its line.
func TestTrunkAuth(t *testing.T) {
	for _, tc := range []struct {
		name, in, user, password, err string
	}{
		{"none", "trunks: [{name: a, target: 10.0.0.1}]", "", "", ""},
		{"register", "trunks: [{name: a, target: 10.0.0.1, register: {user: r, password: rp}}]", "r", "rp", ""},
		{"auth wins", "trunks: [{name: a, target: 10.0.0.1, register: {user: r, password: rp}, auth: {user: u, password: p}}]", "u", "p", ""},
		{"password only", "trunks:\n  - name: a\n    target: 10.0.0.1\n    auth: {password: p}\n", "", "", "x.yaml:4: trunks[0].auth.user: is required with password"},
		{"user only", "trunks: [{name: a, target: 10.0.0.1, auth: {user: u}}]", "", "", "trunks[0].auth.password: is required with user"},
		{"bad user", "trunks: [{name: a, target: 10.0.0.1, auth: {user: 'a@b', password: p}}]", "", "", "trunks[0].auth.user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("x.yaml", []byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u, p := c.Trunks[0].Credentials(); u != tc.user || p != tc.password {
				t.Errorf("credentials %q %q, want %q %q", u, p, tc.user, tc.password)
			}
		})
	}
}
