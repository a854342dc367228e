package app

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/gateway/b2bua"
	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/digest"
	"github.com/switchboard-gw/switchboard/gateway/numbering"
	"github.com/switchboard-gw/switchboard/gateway/store"
	"github.com/switchboard-gw/switchboard/media/relay"
)

// newCalls makes the RTP relay and the B2BUA and registers its handlers
// on the SIP server. Called after the SIP server and the trunks exist.
func (a *App) newCalls(cfg *config.Config, auth *digest.Authenticator) error {
	mediaAddr, err := mediaAddress(cfg)
	if err != nil {
		return err
	}
	mediaTimeout := cfg.Media.Timeout.D()
	if mediaTimeout == 0 {
		mediaTimeout = -1 // relay.Config: negative turns the timeout off
	}
	holdTimeout := cfg.Media.HoldTimeout.D()
	if holdTimeout == 0 {
		holdTimeout = -1 // off: a held call is never timed out
	}
	rl, err := relay.New(relay.Config{PortMin: cfg.Media.PortMin, PortMax: cfg.Media.PortMax, MediaTimeout: mediaTimeout,
		HoldTimeout: holdTimeout,
		Latching:    latchingMode(cfg.Media.Latching), AllowSSRCChange: cfg.Media.AllowSSRCChange,
		Logger: a.log.With("component", "relay"), Threads: cfg.Media.RelayThreads})
	if err != nil {
		return fmt.Errorf("media relay: %w", err)
	}
	client, err := sipgo.NewClient(a.sip.UserAgent())
	if err != nil {
		_ = rl.Close()
		return fmt.Errorf("b2bua sip client: %w", err)
	}
	tc, err := newTrunkCalls(cfg, a.dns) // reload_calls.go
	if err != nil {
		_ = rl.Close()
		return err
	}
	diverts := divertsOf(cfg)
	plan, err := numbering.FromConfig(cfg)
	if err != nil {
		_ = rl.Close()
		return fmt.Errorf("numbering: %w", err)
	}
	policy, err := newCallPolicy(cfg, a.log) // callpolicy.go
	if err != nil {
		_ = rl.Close()
		return err
	}
	a.policy = policy
	a.relay = rl
	a.live = &liveCalls{}
	a.live.routes.Store(&tc.routes)
	a.live.plan.Store(plan)
	a.live.diverts.Store(&diverts)
	if a.webrtc, err = newWebRTC(cfg, mediaAddr, a.log.With("component", "webrtc")); err != nil { // webrtc.go
		return fmt.Errorf("webrtc: %w", err)
	}
	ringback, err := ringbackTone(cfg) // ringback.go
	if err != nil {
		_ = rl.Close()
		return err
	}
	a.calls = b2bua.New(b2bua.Options{
		Auth:       auth,
		Users:      a.users,
		Router:     a.live,
		Client:     client,
		Relay:      rl,
		WebRTC:     a.webrtc,
		MediaAddr:  mediaAddr,
		Ringback:   ringback,
		Contact:    a.contact,
		Domain:     cfg.Domains()[0],
		ServerName: cfg.SIP.ServerName,
		Observer:   a.guard,
		Logger:     a.log.With("component", "b2bua"),
		Local:      &localUsers{dir: a.users},
		Location:   a.reg.Location(),
		Domains:    cfg.Domains(),
		Trunks:     tc.live.Trunks,

		// security.trusted_callers (not exempt_sources: see trust.go).
		TrustedCallers: prefixSet(cfg.TrustedCallerPrefixes()),

		// media.interfaces: each leg's relay side on its interface and
		// its far end's address family (media.go)
		MediaSession: newMediaSides(cfg, rl).session,

		Divert:    a.gwctiDivert(a.live.Divert), // users' forwarding (gwcti.go) over the configured diversions
		CDR:       a.observeCDR(a.Recorder()),   // ladder.go: RTP loss and jitter
		Observe:   a.callObserve(),              // ladder.go
		Numbering: a.live,
		Admission: policy,
		Listener:  a.listenerFor,
		Profile:   a.users.Profile,

		// The gateway as a CTI source (gwcti.go).
		OnCall: a.gwctiOnCall,
		DND:    a.gwctiDND,

		Queues: a.newQueues(cfg), // operator queues (queue.go)
	})
	// trunks' auth, identity and registered-as, session timers, pickup:
	// the settings a reload swaps (reload_calls.go).
	a.calls.SetLive(tc.live)
	for m, h := range a.calls.Handlers() {
		a.sip.Handle(m, h)
	}
	// OPTIONS with a To tag: 200 for a call's dialog, 481 for none (RFC
	// 3261 §12.2.2); the others as before.
	a.sip.Handle(sip.OPTIONS, a.calls.InDialogOptions(a.sip.OptionsHandler()))
	a.sip.OnStrayResponse(a.calls.OnStrayResponse)
	return nil
}

// contact is our Contact URI for a transport: the bound listener of that
// transport, with sip.public_address when set.
func (a *App) contact(transport string) sip.Uri {
	transport = strings.ToLower(transport)
	var host string
	var port int
	for _, b := range a.sip.Bound() {
		if b.Scheme != transport {
			continue
		}
		h, p, err := net.SplitHostPort(b.Addr)
		if err != nil {
			continue
		}
		host = h
		port, _ = strconv.Atoi(p)
		break
	}
	if a.cfg.SIP.PublicAddress != "" {
		host = a.cfg.SIP.PublicAddress
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		host = a.calls.MediaAddr().String()
	}
	u := sip.Uri{Scheme: "sip", Host: host, Port: port}
	if transport != "udp" && transport != "" {
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", transport)
	}
	return u
}

// listenerFor is the bound UDP listener that requests to remote leave
// from (the B2BUA's and trunk registration's view of dns.go's
// listenerFor, the one rule): the port the peer knows and its firewall
// opened, not an ephemeral one (sipgo reuses the listener's socket when
// Request.Laddr names it). Only UDP: a stream is dialled from an
// ephemeral port anyway. ok is false when no UDP listener can reach
// remote.
func (a *App) listenerFor(transport string, remote netip.Addr) (sip.Addr, bool) {
	if !strings.EqualFold(transport, "udp") || !remote.IsValid() {
		return sip.Addr{}, false
	}
	ap, ok := listenerFor(a.sip.Bound)(dnssrv.UDP, netip.AddrPortFrom(remote, 5060))
	if !ok || ap.Addr().IsLoopback() && !remote.IsLoopback() {
		return sip.Addr{}, false // a loopback socket cannot send off the host
	}
	return sip.Addr{IP: net.IP(ap.Addr().AsSlice()), Port: int(ap.Port())}, true
}

// mediaAddress is the address written in SDP for the relay's default
// (IPv4) sides: media.public_address, else the first IPv4 SIP listener's
// IP, else the source address of the default route (no packet is sent).
// IPv6 legs have a side of their own (media.go).
func mediaAddress(cfg *config.Config) (netip.Addr, error) {
	if cfg.Media.PublicAddress != "" {
		return netip.ParseAddr(cfg.Media.PublicAddress)
	}
	for _, l := range cfg.Listeners() {
		if ip, err := netip.ParseAddr(l.Host); err == nil && !ip.IsUnspecified() && ip.Unmap().Is4() {
			return ip, nil
		}
	}
	c, err := net.Dial("udp", "192.0.2.1:9") // TEST-NET-1, RFC 5737
	if err != nil {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1}), nil
	}
	defer c.Close()
	ap, err := netip.ParseAddrPort(c.LocalAddr().String())
	if err != nil {
		return netip.Addr{}, fmt.Errorf("media address: %w", err)
	}
	return ap.Addr().Unmap(), nil
}

// trunkSettings maps trunks[] to what each trunk sees of a call.
func trunkSettings(ts []config.Trunk) map[string]b2bua.TrunkSettings {
	out := make(map[string]b2bua.TrunkSettings, len(ts))
	for _, tc := range ts {
		out[tc.Name] = b2bua.TrunkSettings{
			Domain:          tc.Domain,
			FromUser:        tc.CallerID.FromUser,
			NoDisplayName:   !tc.CallerID.DisplayName,
			AssertIdentity:  tc.CallerID.AssertIdentity,
			Privacy:         tc.CallerID.Privacy,
			FollowRedirects: tc.FollowRedirects,
		}
	}
	return out
}

// localUsers resolves dialled numbers to users of the directory: a
// username, or an extension through an index rebuilt whenever the
// directory was reloaded.
type localUsers struct {
	dir *Directory
	mu  sync.Mutex
	src *map[string]store.User // the directory map the index was built from
	ext map[string]string      // extension → username
}

// Local implements b2bua.LocalUsers.
func (l *localUsers) Local(number string) (string, bool) {
	p := l.dir.users.Load()
	if p == nil || number == "" {
		return "", false
	}
	if _, ok := (*p)[number]; ok {
		return number, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.src != p {
		l.ext = make(map[string]string, len(*p))
		for _, u := range *p {
			if u.Extension != "" {
				l.ext[u.Extension] = u.Username
			}
		}
		l.src = p
	}
	u, ok := l.ext[number]
	return u, ok
}
