package app

import (
	"net/http"

	"github.com/switchboard-gw/switchboard/gateway/console"
)

// consoleRoutes mounts the operator console page (/console); it uses the
// API like any other client.
func (s *adminServer) consoleRoutes(mux *http.ServeMux) { console.Register(mux) }
