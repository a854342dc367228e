package cisco

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/cisco/xsi"
	"github.com/switchboard-gw/switchboard/plugins"
)

// Subscription scopes (Config.SubscriptionScope). BroadWorks subscribes
// an administrator to every user of a group or of a service provider
// (enterprise) with one subscription per event package: XSISubscription.xsd
// EntityType (targetIdType) User, Group, ServiceProvider; the target is
// the request URI, …/xsi-events/v2.0/serviceprovider/{sp}/group/{group}
// or …/v2.0/serviceprovider/{sp} (cti-protocols.md §4.2 step 2). Events
// of such a subscription name their user in targetId (XSIBaseEvent.xsd
// SubscriptionEvent: "the ID of the target user"), and one sequence of
// sequenceNumbers runs over all of its users.
const (
	ScopeUser            = "user"
	ScopeGroup           = "group"
	ScopeServiceProvider = "service_provider"
)

// validateScope checks the subscription scope keys.
func (c *Config) validateScope(bad func(string, ...any)) {
	switch c.SubscriptionScope {
	case "", ScopeUser:
		if c.GroupID != "" || c.ServiceProviderID != "" {
			bad("group_id and service_provider_id need subscription_scope %q or %q", ScopeGroup, ScopeServiceProvider)
		}
	case ScopeGroup:
		if c.GroupID == "" || c.ServiceProviderID == "" {
			bad("subscription_scope %q needs group_id and service_provider_id", ScopeGroup)
		}
	case ScopeServiceProvider:
		if c.ServiceProviderID == "" || c.GroupID != "" {
			bad("subscription_scope %q needs service_provider_id (and no group_id)", ScopeServiceProvider)
		}
	default:
		bad("subscription_scope %q: want %q, %q or %q", c.SubscriptionScope, ScopeUser, ScopeGroup, ScopeServiceProvider)
	}
}

// widePath is the Xsi-Events target of a wide subscription, "" for
// per-user subscriptions.
func (c *Config) widePath() string {
	switch c.SubscriptionScope {
	case ScopeGroup:
		return xsi.EventsRoot + "/serviceprovider/" + url.PathEscape(c.ServiceProviderID) + "/group/" + url.PathEscape(c.GroupID)
	case ScopeServiceProvider:
		return xsi.EventsRoot + "/serviceprovider/" + url.PathEscape(c.ServiceProviderID)
	}
	return ""
}

// wideState is the driver's wide subscriptions (under d.mu).
type wideState struct {
	subs    map[string]string // event package → subscription ID
	refused string            // why the server refused the call package's (per-user fallback)
}

// subscribeWide makes (or, on a channel of the same set, keeps) the wide
// subscriptions: the call package's first; the server refusing it (the
// account may not subscribe a group, 400/403/404) falls back to per-user
// subscriptions for good (Stats().WideRefused). A service package refused
// wide is subscribed per user. A network or server failure is returned.
func (d *Driver) subscribeWide(ctx context.Context, l *link) error {
	path := d.cfg.widePath()
	d.mu.Lock()
	if path == "" || d.wide.refused != "" {
		d.mu.Unlock()
		return nil
	}
	if d.wide.subs == nil {
		d.wide.subs = map[string]string{}
	}
	d.mu.Unlock()
	exp := int(time.Duration(d.cfg.SubscriptionExpires) / time.Second)
	for i, pkg := range append([]string{d.cfg.EventPackage}, servicePackages...) {
		d.mu.Lock()
		id := d.wide.subs[pkg]
		d.mu.Unlock()
		if id != "" {
			err := d.do(ctx, http.MethodPut, subscriptionPath(id), nil, xsi.Subscription{Expires: exp}, nil)
			if err == nil {
				continue
			}
			if !errors.Is(err, plugins.ErrNotFound) {
				return fmt.Errorf("refresh %s subscription: %w", pkg, err)
			}
		}
		var resp xsi.Subscription
		err := d.do(ctx, http.MethodPost, path, nil, xsi.Subscription{Event: pkg, Expires: exp,
			ChannelSetID: l.setID, ApplicationID: d.cfg.ApplicationID}, &resp)
		var se *StatusError
		switch {
		case err == nil:
			d.mu.Lock()
			d.wide.subs[pkg] = resp.SubscriptionID
			d.mu.Unlock()
			d.stats.subscriptions.Add(1)
			d.stats.wide.Add(1)
		case errors.As(err, &se) && se.Status/100 == 4:
			d.mu.Lock()
			delete(d.wide.subs, pkg)
			if i == 0 { // the call package: per-user subscriptions from now on
				d.wide.refused = err.Error()
				d.wide.subs = nil
			}
			d.mu.Unlock()
			if i == 0 {
				d.stats.wideRefused.Add(1)
				return nil
			}
		default:
			return fmt.Errorf("%s subscription: %w", pkg, err)
		}
	}
	return nil
}

// covered reports whether a wide subscription carries pkg's events for
// every user. Called with d.mu held.
func (d *Driver) covered(pkg string) bool { return d.wide.subs[pkg] != "" }

// wideEvent handles what is the wide subscription's own in event ev: its
// end (SubscriptionTerminatedEvent: subscribed again at once) and its
// sequence numbers, which run over all of its users, monitored or not:
// a gap may be any user's lost event, so every device is snapshotted
// again. It reports whether ev is done with. Called with d.mu held.
func (d *Driver) wideEvent(gen uint64, ev *xsi.Event) bool {
	pkg := ""
	for p, id := range d.wide.subs {
		if id == ev.SubscriptionID && id != "" {
			pkg = p
		}
	}
	if pkg == "" {
		return false
	}
	if ev.EventData != nil && ev.EventData.Type == xsi.TypeSubscriptionTerminated {
		delete(d.wide.subs, pkg)
		d.stats.renewals.Add(1)
		d.rewiden(gen, d.partOf(pkg))
		return true
	}
	if d.gap(ev) { // recorded here, so the per-device check after mapping sees no gap again
		d.rewiden(gen, d.partOf(pkg))
	}
	return false
}

// rewiden, on the channel of gen, subscribes the wide packages again
// (those that ended) and reads parts p of every device's snapshot again
// (a wide subscription's lost event may be any device's, but only of the
// part its package carries: snapparts.go). One at a time: parts asked
// while one runs are read by the next round, not dropped. Called with
// d.mu held.
func (d *Driver) rewiden(gen uint64, p parts) {
	l := d.cur
	if l == nil || l.gen != gen {
		return
	}
	d.widenGap |= p
	if !d.widening.CompareAndSwap(false, true) {
		return
	}
	ctx := d.runCtx
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		for {
			d.mu.Lock()
			p := d.widenGap
			d.widenGap = 0
			if d.cur != l || ctx.Err() != nil {
				p = 0 // a new channel snapshots everything anyway
			}
			if p == 0 {
				d.widening.Store(false)
				d.mu.Unlock()
				return
			}
			d.mu.Unlock()
			cctx, cancel := context.WithTimeout(ctx, 4*time.Duration(d.cfg.RequestTimeout))
			_ = d.subscribeWide(cctx, l)
			cancel()
			d.resyncAllWait(p)
		}
	}()
}

// wideMember brings m, a user the wide call subscription covers, onto l:
// its service packages that are not covered wide are subscribed per user
// and its snapshot is taken. A user the server does not know (its calls
// answered 404 or 403) is refused as a per-user subscription would be:
// the device is dropped, with monitor_ended while restoring.
func (d *Driver) wideMember(ctx context.Context, l *link, m *monitor, restoring bool, gen, touched uint64) error {
	snap, halves, err := d.pbxSnapshot(ctx, m)
	if err != nil {
		if !isRefusal(err) {
			d.resnap(gen, m.device, 1) // the group's subscription stands; the calls are asked again (resnap.go)
			return nil
		}
		d.mu.Lock()
		if d.monitors[m.device] == m {
			delete(d.monitors, m.device)
			delete(d.byUser, m.userID)
			if restoring {
				d.ev.Emit(plugins.Event{Type: plugins.EventMonitorEnded, MonitorID: m.id, Device: m.device,
					RawCause: err.Error()})
			}
		}
		d.mu.Unlock()
		return fmt.Errorf("monitor start %s: %w", m.device, err)
	}
	d.subscribeServices(ctx, l, m)
	d.pushSnapshot(ctx, item{gen: gen, snap: &snap, halves: halves, touched: touched}, !restoring)
	return nil
}
