package app

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestProvisionOpenAPIFragments holds the provisioning and directory
// routes to openapi/provision.json and openapi/directory.json, both ways,
// and checks that every $ref of a fragment resolves inside it.
func TestProvisionOpenAPIFragments(t *testing.T) {
	a := runApp(t, "", nil)
	ops := map[string]bool{}
	for _, name := range []string{"openapi/provision.json", "openapi/directory.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			OpenAPI    string                                `json:"openapi"`
			Paths      map[string]map[string]json.RawMessage `json:"paths"`
			Components struct {
				Schemas map[string]json.RawMessage `json:"schemas"`
			} `json:"components"`
		}
		if err := json.Unmarshal(b, &doc); err != nil || doc.OpenAPI != "3.1.0" {
			t.Fatalf("%s: %v %q", name, err, doc.OpenAPI)
		}
		for path, m := range doc.Paths {
			for method := range m {
				ops[strings.ToUpper(method)+" "+path] = true
			}
		}
		for _, ref := range regexp.MustCompile(`"#/components/schemas/([A-Za-z0-9]+)"`).FindAllStringSubmatch(string(b), -1) {
			if _, ok := doc.Components.Schemas[ref[1]]; !ok {
				t.Errorf("%s: $ref %s does not resolve", name, ref[1])
			}
		}
	}
	var mine []string
	for _, r := range a.admin.routes {
		_, path, _ := strings.Cut(r, " ")
		if strings.HasPrefix(path, "/api/v1/provisioning") || strings.HasPrefix(path, "/api/v1/directory") {
			mine = append(mine, r)
			if !ops[r] {
				t.Errorf("route %s has no operation in the fragments", r)
			}
		}
	}
	for op := range ops {
		if !slices.Contains(mine, op) {
			t.Errorf("operation %s is not a registered route", op)
		}
	}
}
