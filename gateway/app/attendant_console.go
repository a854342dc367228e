package app

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
)

// consoleLink is the attendant console link of seed 004: the HTTPS
// server's handler (the same API, the same accounts) also served on 51235
// over TLS with the HTTPS certificate and, only when enabled, on 51234 in
// plain TCP (attendant.console_link).
type consoleLink struct {
	lns []net.Listener
	wg  sync.WaitGroup
}

// startConsoleLink opens the console link listeners and serves them until
// shutdown; a listener that cannot open fails the start.
func (s *adminServer) startConsoleLink() error {
	cl := s.app.cfg.Attendant.ConsoleLink
	type want struct {
		addr string
		tls  bool
	}
	var ws []want
	if cl.TLS != "" {
		ws = append(ws, want{cl.TLS, true})
	}
	if cl.PlainEnabled && cl.Plain != "" {
		ws = append(ws, want{cl.Plain, false})
	}
	for _, w := range ws {
		ln, err := net.Listen("tcp", w.addr)
		if err != nil {
			s.closeConsoleLink()
			return fmt.Errorf("listen console link %s: %w", w.addr, err)
		}
		kind := "plain"
		if w.tls {
			ln, kind = tls.NewListener(ln, s.conf), "tls"
		}
		s.console.lns = append(s.console.lns, ln)
		s.app.log.Info("console link listening", "transport", kind, "addr", ln.Addr().String())
	}
	for _, ln := range s.console.lns {
		s.console.wg.Go(func() {
			if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.app.log.Error("console link", "addr", ln.Addr().String(), "error", err)
			}
		})
	}
	return nil
}

// closeConsoleLink closes listeners opened before a failed start.
func (s *adminServer) closeConsoleLink() {
	for _, ln := range s.console.lns {
		_ = ln.Close()
	}
	s.console.lns = nil
}

// waitConsoleLink waits for the console link servers after Shutdown.
func (s *adminServer) waitConsoleLink() { s.console.wg.Wait() }

// consoleAddrs are the console link's bound addresses (tests).
func (s *adminServer) consoleAddrs() []string {
	var out []string
	for _, ln := range s.console.lns {
		out = append(out, ln.Addr().String())
	}
	return out
}
