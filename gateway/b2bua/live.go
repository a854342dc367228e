package b2bua

import (
	"time"

	"github.com/switchboard-gw/switchboard/dnssrv"
)

// Live are the settings a running B2BUA takes from a configuration reload
// (Options documents each field). Calls under way keep the trunk and
// timers they set up with; the settings apply to the requests and calls
// that follow. The Router, Numbering, Divert and Admission options are
// interfaces: the gateway swaps what is behind them itself.
type Live struct {
	Trunks         []*dnssrv.Trunk
	RegisteredAs   map[string]string
	TrunkAuth      map[string]Credentials
	TrunkSettings  map[string]TrunkSettings
	SessionExpires time.Duration
	MinSE          time.Duration
	Pickup         bool
}

// SetLive replaces the live settings; safe while calls are carried. The
// maps are taken as they are: do not change them afterwards.
func (b *B2BUA) SetLive(l Live) { b.lv.Store(&l) }

// live returns the settings in force: the last SetLive's, else Options'.
func (b *B2BUA) live() Live {
	if p := b.lv.Load(); p != nil {
		return *p
	}
	return Live{Trunks: b.o.Trunks, RegisteredAs: b.o.RegisteredAs, TrunkAuth: b.o.TrunkAuth,
		TrunkSettings: b.o.TrunkSettings, SessionExpires: b.o.SessionExpires, MinSE: b.o.MinSE, Pickup: b.o.Pickup}
}

// Live returns the settings in force (the last SetLive's, else Options').
func (b *B2BUA) Live() Live { return b.live() }
