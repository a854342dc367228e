package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, and that its result is
// either a config that validates or a non-empty, bounded *Errors.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("a: &a {b: *a}\nsip: &s {tls: *s}\n"))
	f.Add([]byte("users: &u [*u]\n"))
	f.Add([]byte("registrar: {<<: {max_contacts: 1}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err == nil {
			if c == nil {
				t.Fatal("nil config without error")
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("parsed config does not validate: %v", err)
			}
			_ = c.Listeners()
			_ = c.TrustedCallerPrefixes()
			_ = c.ExemptPrefixes()
			_ = c.EdgeProxyPrefixes()
			return
		}
		var errs *Errors
		if !errors.As(err, &errs) || len(*errs) == 0 || len(*errs) > maxErrors+1 {
			t.Fatalf("bad error value %T: %v", err, err)
		}
		for _, e := range *errs {
			if e.File != "fuzz.yaml" || e.Msg == "" {
				t.Fatalf("bad error entry %+v", e)
			}
		}
	})
}
