// Package adminui is the administrator's web UI served at /admin: one
// page and its script and style, embedded in the binary, built only on
// the gateway's public JSON API (/api/v1/...). The page logs in with
// POST /api/v1/session (the session cookie) and sends the session's CSRF
// token in X-CSRF-Token on every unsafe request; it fetches nothing from
// other origins, which its Content-Security-Policy enforces.
package adminui

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var staticFiles embed.FS

// csp allows this origin's script, style, images and fetches only.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler serves /admin (the page) and /admin/static/ (its files).
type Handler struct {
	page   []byte
	static http.Handler
}

// New returns the admin UI's handler.
func New() (*Handler, error) {
	page, err := staticFiles.ReadFile("static/index.html")
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, err
	}
	return &Handler{page: page, static: http.StripPrefix("/admin/static/", http.FileServerFS(sub))}, nil
}

// Register mounts the page and its files on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin", h.servePage)
	mux.HandleFunc("GET /admin/{$}", h.servePage)
	mux.HandleFunc("GET /admin/static/", h.serveStatic)
}

func securityHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Security-Policy", csp)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Permissions-Policy", "microphone=(), camera=(), geolocation=()")
}

func (h *Handler) servePage(w http.ResponseWriter, _ *http.Request) {
	securityHeaders(w)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(h.page)
}

func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/") || strings.HasSuffix(r.URL.Path, "index.html") {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"title":"not found","status":404,"detail":"no such file"}` + "\n"))
		return
	}
	securityHeaders(w)
	w.Header().Set("Cache-Control", "no-cache")
	h.static.ServeHTTP(w, r)
}
