package app

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
	"github.com/switchboard-gw/switchboard/gateway/certs"
	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/media/turn"
)

// turnSecretFile holds the TURN REST secret made at first start, in data_dir.
const turnSecretFile = "turn.secret"

// newTURN prepares the STUN/TURN server (turn.enabled) without opening it.
// tlsConf is the SIP certificate; the HTTPS side's is used when given, as
// for the pages that hand out turns: URLs.
func (a *App) newTURN(cfg *config.Config, tlsConf *tls.Config) error {
	t := cfg.TURN
	if !t.Enabled {
		return nil
	}
	secret := t.Secret
	if secret == "" {
		var err error
		if secret, err = loadTURNSecret(cfg.DataDir); err != nil {
			return err
		}
	}
	relay, err := turnRelayAddress(cfg)
	if err != nil {
		return err
	}
	var bind netip.Addr
	if t.RelayBind != "" {
		bind, _ = netip.ParseAddr(t.RelayBind) // validated
	}
	if !cfg.HTTP.TLS.IsZero() {
		if tlsConf, _, err = certs.Load(cfg.HTTP.TLS.Cert, cfg.HTTP.TLS.Key, cfg.DataDir, nil); err != nil {
			return fmt.Errorf("turn: %w", err)
		}
	}
	users := make(map[string]string, len(t.Users))
	for _, u := range t.Users {
		users[u.Username] = u.Password
	}
	var listen []string
	for _, l := range t.Listen {
		if (strings.HasPrefix(l, "tls://") || strings.HasPrefix(l, "dtls://")) && tlsConf == nil {
			continue
		}
		listen = append(listen, l)
	}
	s, err := turn.New(turn.Options{
		Listen: listen, TLS: tlsConf, Realm: cfg.TURNRealm(), Secret: secret, Users: users,
		RelayAddress: relay, RelayBind: bind, PortMin: t.PortMin, PortMax: t.PortMax,
		AllowPeers: cfg.TURNAllowPeers(), UserQuota: t.UserQuota, TotalQuota: t.TotalQuota,
		MaxBitrate: int64(t.MaxBitrate), Lifetime: t.Lifetime.D(),
		SourceRate: t.Limits.RequestsPerSecond, SourceBurst: t.Limits.Burst,
		MaxConns: t.Limits.MaxConnections, MaxConnsPerIP: t.Limits.MaxConnectionsPerIP,
		PublicHost: t.PublicHost, CredentialTTL: t.CredentialTTL.D(),
		Logger: a.log.With("component", "turn"),
	})
	if err != nil {
		return err
	}
	a.turn = s
	return nil
}

// turnRelayAddress is turn.relay_address, else media.public_address, else
// the address SDP carries (mediaAddress: the first SIP listener's IP or
// the default route's).
func turnRelayAddress(cfg *config.Config) (netip.Addr, error) {
	if cfg.TURN.RelayAddress != "" {
		return netip.ParseAddr(cfg.TURN.RelayAddress)
	}
	return mediaAddress(cfg)
}

// loadTURNSecret reads <dataDir>/turn.secret, making it at first start.
func loadTURNSecret(dataDir string) (string, error) {
	path := filepath.Join(dataDir, turnSecretFile)
	b, err := os.ReadFile(path)
	if err == nil {
		if s := strings.TrimSpace(string(b)); len(s) >= 16 {
			return s, nil
		}
		return "", fmt.Errorf("turn: %s holds no secret of at least 16 characters", path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("turn: read secret: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("turn: make secret: %w", err)
	}
	s := base64.RawURLEncoding.EncodeToString(raw)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("turn: %w", err)
	}
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("turn: store secret: %w", err)
	}
	return s, nil
}

// startTURN opens the STUN/TURN listeners; they close when ctx ends or
// stopTURN is called.
func (a *App) startTURN(ctx context.Context) error {
	if a.turn == nil {
		return nil
	}
	return a.turn.Start(ctx)
}

// stopTURN closes the STUN/TURN server and every allocation.
func (a *App) stopTURN() {
	if a.turn != nil {
		_ = a.turn.Close()
	}
}

// TURN returns the STUN/TURN server, nil when turn.enabled is false. Its
// ICEServers gives the web phone its stun:/turn:/turns: URLs with REST
// credentials.
func (a *App) TURN() *turn.Server { return a.turn }

// turnRoutes adds GET /api/v1/turn/allocations (admin role, as the rest
// of the API).
func (s *adminServer) turnRoutes(mux *http.ServeMux) {
	s.route(mux, "GET /api/v1/turn/allocations", accounts.RoleAdmin, func(w http.ResponseWriter, _ *http.Request) {
		if s.app.turn == nil {
			writeJSON(w, []turn.Allocation{})
			return
		}
		writeJSON(w, s.app.turn.Allocations())
	})
}

// turnMetrics registers switchboard_turn_*.
func (s *adminServer) turnMetrics(reg *prometheus.Registry) {
	if s.app.turn != nil {
		reg.MustRegister(s.app.turn.Collector())
	}
}
