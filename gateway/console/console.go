// Package console serves the operator console: one web page (/console)
// and its embedded script and style, built only on the gateway's public
// API (REST under /api/v1 and the /api/v1/events WebSocket). Nothing is
// fetched from another origin: the page's Content-Security-Policy allows
// this origin only.
package console

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var staticFiles embed.FS

// CSP is the Content-Security-Policy of the page: scripts, styles, images
// and fetches from this origin only (the event stream's wss: URL is the
// same origin, which 'self' covers in CSP Level 3 browsers; it is named
// per request as well for older ones).
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'%s; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Register adds the console's routes to mux:
//
//	GET /console              the page
//	GET /console/static/...   its script and style
//
// The page and its files are public: every action goes through the API,
// which checks the caller's session, CSRF token and role.
func Register(mux *http.ServeMux) {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embedded folder is part of the build
	}
	page, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		panic(err)
	}
	mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		wss := ""
		if r.Host != "" && !strings.ContainsAny(r.Host, " ;'\"") {
			wss = " wss://" + r.Host
		}
		w.Header().Set("Content-Security-Policy", strings.Replace(CSP, "%s", wss, 1))
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
	mux.HandleFunc("GET /console/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console", http.StatusMovedPermanently)
	})
	files := http.StripPrefix("/console/static/", http.FileServerFS(sub))
	mux.Handle("GET /console/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") || strings.HasSuffix(r.URL.Path, ".html") {
			http.NotFound(w, r) // no listings; the page is /console
			return
		}
		securityHeaders(w)
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}))
}

func securityHeaders(w http.ResponseWriter) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Permissions-Policy", "microphone=(), camera=(), geolocation=()")
}
