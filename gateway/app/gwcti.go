package app

import (
	"context"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/b2bua"
	"github.com/switchboard-gw/switchboard/gateway/gwcti"
)

// The gateway as a CTI source (gateway/gwcti): its users and the calls
// the B2BUA carries, for the attendant model next to the CTI drivers.
// The B2BUA and the registrar are made first and tell the source through
// the hooks below, which find it through a.gwsrc once it exists (before
// any request is served).

// newGatewaySource makes the gateway's CTI source over the B2BUA.
func (a *App) newGatewaySource() error {
	s, err := gwcti.New(gwcti.Options{
		Calls:     a.calls,
		User:      (&localUsers{dir: a.users}).Local,
		Settings:  a.store,
		DNDStatus: a.cfg.GatewayCTI.DNDStatus,
		Logger:    a.log.With("component", "gwcti"),
	})
	if err != nil {
		return err
	}
	// The bindings restored from the store: their users are online.
	live := map[string]int{}
	for _, b := range a.reg.Location().All(time.Now()) {
		live[b.AOR]++
	}
	for aor, n := range live {
		s.OnBindings(aor, n)
	}
	a.gwsrc.Store(s)
	return nil
}

// GatewaySource is the gateway's own CTI source (attendant.Source with
// Name "gateway"); nil before New made it.
func (a *App) GatewaySource() *gwcti.Source { return a.gwsrc.Load() }

// startGatewaySource delivers the source's events until the returned
// func is called.
func (a *App) startGatewaySource(ctx context.Context) (stop func()) {
	s := a.gwsrc.Load()
	if s == nil {
		return func() {}
	}
	return s.Start(ctx)
}

// gwctiOnCall is the B2BUA's call observer (b2bua.Options.OnCall).
func (a *App) gwctiOnCall(ev b2bua.CallEvent) {
	if s := a.gwsrc.Load(); s != nil {
		s.OnCall(ev)
	}
}

// gwctiBindings is the registrar's binding observer.
func (a *App) gwctiBindings(aor string, live int) {
	if s := a.gwsrc.Load(); s != nil {
		s.OnBindings(aor, live)
	}
}

// gwctiDND is the B2BUA's do-not-disturb hook.
func (a *App) gwctiDND(user string) int {
	if s := a.gwsrc.Load(); s != nil {
		return s.DND(user)
	}
	return 0
}

// gwctiDivert adds the users' forwarding to the configured diversions.
func (a *App) gwctiDivert(base func(string) (b2bua.Divert, bool)) func(string) (b2bua.Divert, bool) {
	return func(user string) (b2bua.Divert, bool) {
		if s := a.gwsrc.Load(); s != nil {
			return s.Divert(base)(user)
		}
		return base(user)
	}
}
