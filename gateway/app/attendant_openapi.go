package app

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
)

// openapiFragments are the OpenAPI 3.1 fragments, one per resource group
// (common brief): each a valid document with paths and components.
//
//go:embed openapi/*.json
var openapiFragments embed.FS

// openapiDoc merges every fragment's paths and components into one
// OpenAPI 3.1.0 document. Two fragments defining the same path+method or
// the same component are an error.
func openapiDoc(fsys fs.FS) ([]byte, error) {
	names, err := fs.Glob(fsys, "openapi/*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	paths := map[string]map[string]json.RawMessage{}
	comps := map[string]map[string]json.RawMessage{}
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		var frag struct {
			OpenAPI    string                                `json:"openapi"`
			Paths      map[string]map[string]json.RawMessage `json:"paths"`
			Components map[string]map[string]json.RawMessage `json:"components"`
		}
		if err := json.Unmarshal(b, &frag); err != nil {
			return nil, fmt.Errorf("openapi fragment %s: %w", name, err)
		}
		if !strings.HasPrefix(frag.OpenAPI, "3.1") {
			return nil, fmt.Errorf("openapi fragment %s: openapi %q, want 3.1.x", name, frag.OpenAPI)
		}
		for p, ops := range frag.Paths {
			if paths[p] == nil {
				paths[p] = map[string]json.RawMessage{}
			}
			for op, v := range ops {
				if _, dup := paths[p][op]; dup {
					return nil, fmt.Errorf("openapi fragment %s: %s %s is defined twice", name, op, p)
				}
				paths[p][op] = v
			}
		}
		for kind, items := range frag.Components {
			if comps[kind] == nil {
				comps[kind] = map[string]json.RawMessage{}
			}
			for k, v := range items {
				if _, dup := comps[kind][k]; dup {
					return nil, fmt.Errorf("openapi fragment %s: components.%s.%s is defined twice", name, kind, k)
				}
				comps[kind][k] = v
			}
		}
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Switchboard API", "version": "1",
			"description": "The gateway's HTTPS API: attendant (devices, calls, presence, park, events), history and administration. Errors are RFC 9457 problem documents."},
		"paths":      paths,
		"components": comps,
	}
	return json.MarshalIndent(doc, "", "  ")
}

// openapiRoutes serves the merged document at GET /api/openapi.json
// (unauthenticated: it describes, it does not disclose).
func (s *adminServer) openapiRoutes(mux *http.ServeMux) {
	doc, err := openapiDoc(openapiFragments)
	if err != nil {
		s.app.log.Error("openapi document not served", "error", err)
		return
	}
	mux.HandleFunc("GET /api/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})
}

// openapiPattern turns a ServeMux pattern ("GET /api/v1/calls/{id}") into
// the OpenAPI method and path ("get", "/api/v1/calls/{id}").
func openapiPattern(pattern string) (method, p string) {
	method, p, _ = strings.Cut(pattern, " ")
	p = path.Clean(strings.TrimSuffix(p, "{$}"))
	return strings.ToLower(method), strings.ReplaceAll(p, "...}", "}")
}
