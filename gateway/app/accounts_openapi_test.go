package app

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestAccountsOpenAPIFragment: every route accountRoutes registers is an
// operation of openapi/accounts.json, and every operation there is a
// registered route (the whole-document test holds all fragments; this
// one runs without the rest of the API).
func TestAccountsOpenAPIFragment(t *testing.T) {
	b, err := os.ReadFile("openapi/accounts.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("accounts.json: %v (openapi %q)", err, doc.OpenAPI)
	}
	var ops []string
	for path, item := range doc.Paths {
		for m := range item {
			if m == "parameters" {
				continue
			}
			ops = append(ops, strings.ToUpper(m)+" "+path)
		}
	}
	s := &adminServer{}
	s.accountRoutes(http.NewServeMux())
	slices.Sort(ops)
	routes := slices.Clone(s.routes)
	slices.Sort(routes)
	if !slices.Equal(ops, routes) {
		t.Fatalf("accounts.json operations:\n%s\nroutes:\n%s", strings.Join(ops, "\n"), strings.Join(routes, "\n"))
	}
}
