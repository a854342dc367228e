package app

import "net/http"

func (s *adminServer) directoryRoutes(mux *http.ServeMux) {}
