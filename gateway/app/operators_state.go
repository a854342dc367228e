package app

import (
	"context"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
	"github.com/switchboard-gw/switchboard/gateway/attendant"
	"github.com/switchboard-gw/switchboard/gateway/store"
)

// storeTimeout bounds one store write or read of operator state and
// user presence.
const storeTimeout = 5 * time.Second

// restoreOperatorStates gives each operator the state stored before the
// restart (issue 14: a paused operator stays paused).
func (a *App) restoreOperatorStates() {
	if a.store == nil || a.ops == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	states, err := a.store.OperatorStates(ctx)
	if err != nil {
		a.log.Warn("operator states not restored", "error", err)
		return
	}
	for _, s := range states {
		a.ops.Restore(s.Account, accounts.OperatorState{State: s.State, Reason: s.Reason, Since: s.Since})
	}
	if len(states) > 0 {
		a.log.Info("operator states restored", "count", len(states))
	}
}

// saveOperatorState stores name's state; a failure is logged (the state
// holds in memory until the next restart).
func (a *App) saveOperatorState(ctx context.Context, name string, st accounts.OperatorState) {
	if a.store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := a.store.PutOperatorState(ctx, store.OperatorState{Account: name, State: st.State, Reason: st.Reason, Since: st.Since}); err != nil {
		a.log.Warn("operator state not stored", "account", name, "error", err)
	}
}

// restoreUserPresence gives devices the presence their users set before
// the restart; devices the model does not know yet get it when they
// appear.
func (a *App) restoreUserPresence() {
	if a.store == nil || a.att == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	ps, err := a.store.UserPresences(ctx)
	if err != nil {
		a.log.Warn("user presence not restored", "error", err)
		return
	}
	m := make(map[string]attendant.Presence, len(ps))
	for _, p := range ps {
		pr, err := attendant.ParseUserPresence(p.Presence)
		if err != nil {
			continue // a value an older version allowed
		}
		m[p.Device] = pr
	}
	a.att.PresetUserPresence(m)
}

// saveUserPresence stores the presence the user of device id set ("":
// cleared).
func (a *App) saveUserPresence(ctx context.Context, id string, p attendant.Presence) {
	if a.store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := a.store.PutUserPresence(ctx, store.UserPresence{Device: id, Presence: string(p), UpdatedAt: time.Now().UTC()}); err != nil {
		a.log.Warn("user presence not stored", "device", id, "error", err)
	}
}

// operatorChanged publishes name's state as operators see it (type
// operator on the event stream): after a state change, a login or a
// logout. by is the account that caused it.
func (s *adminServer) operatorChanged(ctx context.Context, name, by string) {
	if s.app.att == nil || s.app.acct == nil {
		return
	}
	a, err := s.app.acct.Get(ctx, name)
	if err != nil || a.Disabled || a.Role == accounts.RoleAdmin {
		return // admins are not operators (GET /api/v1/operators)
	}
	live, err := s.app.acct.LoggedIn(ctx)
	if err != nil {
		return
	}
	v := s.operatorOf(a, live)
	ch := &attendant.OperatorChange{Name: v.Name, State: v.State, Reason: v.Reason, Device: v.Device, By: by}
	if v.Since != nil {
		ch.Since = *v.Since
	}
	s.app.att.Publish(attendant.Message{Type: "operator", Operator: ch})
}
