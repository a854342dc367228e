package app

import (
	"sync/atomic"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/gateway/b2bua"
	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/numbering"
)

// liveCalls holds what the B2BUA reaches through its Router, Numbering
// and Divert options, so that a reload swaps it (atomically, each) while
// calls are carried: the routes to trunks, the numbering plan and the
// users' diverts.
type liveCalls struct {
	routes  atomic.Pointer[b2bua.Routes]
	plan    atomic.Pointer[numbering.Plan]
	diverts atomic.Pointer[map[string]b2bua.Divert]
}

// Route implements b2bua.Router.
func (l *liveCalls) Route(number string) *dnssrv.Trunk { return l.routes.Load().Route(number) }

// RouteExact is b2bua's exactRouter: an exact numbering-plan match.
func (l *liveCalls) RouteExact(number string) *dnssrv.Trunk {
	return l.routes.Load().RouteExact(number)
}

// Outbound implements b2bua.Numbering with the current plan.
func (l *liveCalls) Outbound(trunk, number string) (string, error) {
	return l.plan.Load().Outbound(trunk, number)
}

// Inbound implements b2bua.Numbering with the current plan.
func (l *liveCalls) Inbound(trunk, number string) string {
	return l.plan.Load().Inbound(trunk, number)
}

// Divert is the B2BUA's Divert option over the current diverts.
func (l *liveCalls) Divert(user string) (b2bua.Divert, bool) {
	dv, ok := (*l.diverts.Load())[user]
	return dv, ok
}

// trunkCalls is what the B2BUA knows of the trunks, from cfg and the
// trunks dns made of it.
type trunkCalls struct {
	routes b2bua.Routes
	live   b2bua.Live
}

// newTrunkCalls maps trunks[] (and calls:, call_policy.pickup) to the
// B2BUA's routes and live settings.
func newTrunkCalls(cfg *config.Config, dns *dnssrv.Manager) (trunkCalls, error) {
	tc := trunkCalls{live: b2bua.Live{
		RegisteredAs:   map[string]string{},
		TrunkAuth:      map[string]b2bua.Credentials{}, // trunks[].auth, default register (b2bua/trunkauth.go)
		TrunkSettings:  trunkSettings(cfg.Trunks),
		SessionExpires: cfg.Calls.SessionExpires.D(), // RFC 4028 (b2bua/timer.go)
		MinSE:          cfg.Calls.MinSE.D(),
		Pickup:         cfg.CallPolicy.Pickup, // BLF directed pickup (b2bua/pickup.go)
	}}
	for _, c := range cfg.Trunks {
		tr, err := dns.Trunk(c.Name)
		if err != nil {
			return trunkCalls{}, err
		}
		tc.live.Trunks = append(tc.live.Trunks, tr)
		if len(c.Match) > 0 {
			tc.routes = append(tc.routes, b2bua.Route{Trunk: tr, Match: c.Match})
		}
		if c.Register.Enabled() {
			as := c.Register.ContactUser
			if as == "" {
				as = c.Register.User // trunkreg's default
			}
			tc.live.RegisteredAs[c.Name] = as
		}
		if user, password := c.Credentials(); user != "" {
			tc.live.TrunkAuth[c.Name] = b2bua.Credentials{User: user, Password: password}
		}
	}
	return tc, nil
}

// divertsOf maps users[].divert.
func divertsOf(cfg *config.Config) map[string]b2bua.Divert {
	diverts := map[string]b2bua.Divert{}
	for _, u := range cfg.Users {
		if dv := u.Divert; dv.Busy != "" || dv.NoAnswer != "" {
			diverts[u.Username] = b2bua.Divert{Busy: dv.Busy, NoAnswer: dv.NoAnswer, NoAnswerTimeout: dv.NoAnswerTimeout.D()}
		}
	}
	return diverts
}
