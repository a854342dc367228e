package app

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
	"github.com/switchboard-gw/switchboard/gateway/attendant"
	"github.com/switchboard-gw/switchboard/gateway/b2bua"
	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/opqueue"
)

// rosterTimeout bounds the account store reads of one roster.
const rosterTimeout = 2 * time.Second

// rosterTTL: one roster read per group per 150 ms, however many calls
// wait (each asks every 200 ms).
const rosterTTL = 150 * time.Millisecond

// newQueues makes the operator queues of attendant.queues (issue 14) and
// returns them as the B2BUA's hook; nil when none are configured.
func (a *App) newQueues(cfg *config.Config) b2bua.Queues {
	if len(cfg.Attendant.Queues) == 0 {
		return nil
	}
	qs := make([]opqueue.Config, len(cfg.Attendant.Queues))
	for i, q := range cfg.Attendant.Queues {
		qs[i] = opqueue.Config{Number: q.Number, Group: q.Group, Ring: q.Ring.D(), OverflowAfter: q.OverflowAfter.D(),
			OverflowTo: q.OverflowTo, Strategy: q.Strategy, MaxWaiting: q.MaxWaiting}
	}
	a.queues = opqueue.New(opqueue.Options{Queues: qs, Roster: a.queueRoster, OnEvent: a.queueEvent, RosterTTL: rosterTTL})
	return queueHook{a.queues}
}

// queueRoster is the operators of group who may ring now: enabled
// accounts of the group with a gateway device ("gateway:<user>"), logged
// in (a live session), available (not paused), whose device is in no
// call (the attendant model's lamp).
func (a *App) queueRoster(group string) []opqueue.Operator {
	if a.acct == nil || a.ops == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), rosterTimeout)
	defer cancel()
	as, err := a.acct.List(ctx)
	if err != nil {
		a.log.Warn("queue: operators not read", "error", err)
		return nil
	}
	live, err := a.acct.LoggedIn(ctx)
	if err != nil {
		a.log.Warn("queue: sessions not read", "error", err)
		return nil
	}
	var out []opqueue.Operator
	for _, acc := range as {
		user, ok := strings.CutPrefix(acc.Device, attendant.GatewaySource+":")
		if !ok || acc.Disabled || !slices.Contains(acc.Groups, group) || live[acc.Name] == 0 ||
			a.ops.State(acc.Name).State != accounts.StateAvailable {
			continue
		}
		if a.att != nil {
			if d, err := a.att.Device(acc.Device); err == nil && len(d.Calls) > 0 {
				continue // busy
			}
		}
		out = append(out, opqueue.Operator{Name: acc.Name, User: user})
	}
	return out
}

// queueEvent publishes a queue's change on the attendant event stream
// (type queue), to the operators of the queue's group (supervisors and
// admins: every queue's).
func (a *App) queueEvent(ev opqueue.Event) {
	if a.att == nil {
		return
	}
	ev.Call = attendant.ID(attendant.GatewaySource, ev.Call)
	body, err := json.Marshal(ev)
	if err != nil {
		return
	}
	a.att.PublishGroup(attendant.Message{Type: "queue", Source: attendant.GatewaySource, CallID: ev.Call, Event: ev.Type, Queue: body}, ev.Group)
}

// queueHook adapts the queues to the B2BUA's hook (b2bua/queue.go).
type queueHook struct{ m *opqueue.Manager }

func (h queueHook) IsQueue(number string) bool { return h.m.IsQueue(number) }

func (h queueHook) Join(number, ref, caller string) (b2bua.QueueWait, error) {
	w, err := h.m.Join(number, ref, caller)
	if err != nil {
		return nil, err
	}
	return waitHook{w}, nil
}

type waitHook struct{ w *opqueue.Wait }

func (h waitHook) Next(tried, ringing []string) b2bua.QueueStep {
	st := h.w.Next(tried, ringing)
	return b2bua.QueueStep{Ring: st.Ring, EndRound: st.EndRound, Overflow: st.Overflow, OverflowTo: st.OverflowTo}
}
func (h waitHook) Answered(user string) { h.w.Answered(user) }
func (h waitHook) Leave(why string)     { h.w.Leave(why) }

// queueRoutes adds GET /api/v1/queues.
func (s *adminServer) queueRoutes(mux *http.ServeMux) {
	s.route(mux, "GET /api/v1/queues", accounts.RoleOperator, s.listQueues)
}

// queueCallView is one waiting call in GET /api/v1/queues.
type queueCallView struct {
	ID       string   `json:"id"`
	Caller   string   `json:"caller"`
	Wait     float64  `json:"wait_seconds"`
	Position int      `json:"position"`
	Ringing  []string `json:"ringing"`
}

// queueView is one queue in GET /api/v1/queues.
type queueView struct {
	Number        string          `json:"number"`
	Group         string          `json:"group"`
	Strategy      string          `json:"strategy"`
	Ring          float64         `json:"ring_seconds"`
	OverflowAfter float64         `json:"overflow_after_seconds"`
	OverflowTo    string          `json:"overflow_to,omitempty"`
	Waiting       []queueCallView `json:"waiting"`
}

// listQueues: the queues of the caller's groups (supervisors and admins:
// every queue), with their calls in line and the operators ringing.
func (s *adminServer) listQueues(w http.ResponseWriter, r *http.Request) {
	p := caller(r)
	out := []queueView{}
	if s.app.queues != nil {
		for _, v := range s.app.queues.Views() {
			if !p.Role.Allows(accounts.RoleSupervisor) && !slices.Contains(p.Groups, v.Group) {
				continue
			}
			qv := queueView{Number: v.Number, Group: v.Group, Strategy: v.Strategy, Ring: v.Ring.Seconds(),
				OverflowAfter: v.OverflowAfter.Seconds(), OverflowTo: v.OverflowTo, Waiting: []queueCallView{}}
			for _, c := range v.Waiting {
				qv.Waiting = append(qv.Waiting, queueCallView{ID: attendant.ID(attendant.GatewaySource, c.Call),
					Caller: c.Caller, Wait: c.Wait, Position: c.Position, Ringing: c.Ringing})
			}
			out = append(out, qv)
		}
	}
	writeJSON(w, map[string]any{"queues": out})
}
