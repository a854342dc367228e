package webphone

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
)

// staticFiles are the page, its script and style, and static/vendor, where
// make build bundles JsSIP (the folder always exists: a README is kept in
// it, so go build works before npm has run).
//
//go:embed static
var staticFiles embed.FS

// jssipPath is the bundled JsSIP inside staticFiles.
const jssipPath = "static/vendor/jssip.min.js"

// haveJsSIP reports whether this build embeds JsSIP.
func haveJsSIP() bool {
	_, err := fs.Stat(staticFiles, jssipPath)
	return err == nil
}

var pageTmpl = template.Must(template.ParseFS(staticFiles, "static/index.html"))

// page serves the web phone's page. Its Content-Security-Policy allows
// scripts, styles and fetches from this origin only, plus the gateway's
// WSS listeners for SIP.
func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	connect := append([]string{"'self'"}, h.wsURLs(r)...)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"media-src 'self' blob:; connect-src "+strings.Join(connect, " ")+"; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Permissions-Policy", "microphone=(self), camera=(), geolocation=()")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = pageTmpl.Execute(w, struct{ JsSIP bool }{haveJsSIP()})
}

// static serves /phone/static/ from the embedded files.
func (h *Handler) static() http.Handler {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embedded folder is part of the build
	}
	files := http.StripPrefix("/phone/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") || strings.HasSuffix(r.URL.Path, "/README.txt") {
			problem(w, http.StatusNotFound, "not found", "no such file")
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "max-age=300")
		files.ServeHTTP(w, r)
	})
}
