package app

import (
	"slices"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/attendant"
	"github.com/switchboard-gw/switchboard/plugins"
)

// wireGatewaySource makes the gateway's own users lamps of the attendant
// model beside the CTI drivers' devices (`gateway:<user>`): the gateway
// source's events feed the model, and a user with no registration starts
// offline (the source says link_down/link_up per device as bindings go
// and come; a snapshot alone would show an unregistered user idle).
func (a *App) wireGatewaySource() {
	s := a.gwsrc.Load()
	if s == nil || a.att == nil {
		return
	}
	users := a.users.usernames()
	a.att.AddSource(s, users...)
	online := map[string]bool{}
	for _, b := range a.reg.Location().All(time.Now()) {
		user, _, _ := strings.Cut(b.AOR, "@")
		online[user] = true
	}
	for _, u := range users {
		if !online[u] {
			a.att.Apply(plugins.Event{Driver: attendant.GatewaySource, Device: u, Type: plugins.EventLinkDown,
				RawCause: "not registered", Time: time.Now()})
		}
	}
	s.SetOnEvent(a.att.Apply)
}

// usernames returns every user's name, sorted.
func (d *Directory) usernames() []string {
	p := d.users.Load()
	if p == nil {
		return nil
	}
	out := make([]string, 0, len(*p))
	for name := range *p {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}
