package cisco

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/cisco/xsi"
	"github.com/switchboard-gw/switchboard/plugins"
)

// The driver keeps one channel set for the life of its process
// (XSIBaseEvent.xsd ChannelSetId: "identifies a grouping of event
// channels", unique per application instance). Subscriptions name the
// set, not a channel (XSISubscription.xsd channelSetId: "the event for the
// subscription are sent through the channel which belongs to this
// ChannelSetId"), so they outlive a channel: when one is lost, the driver
// adds a new channel to the same set and keeps the subscriptions the
// server still holds (a refresh answered 404 is one it lost, subscribed
// again), instead of subscribing every device again, up to six requests
// per device. Events sent while the set had no channel are lost, so every
// device's snapshot is taken again before link_up, as before.

// setID is the driver's channel set: the configured prefix and the
// process's run ID.
func (d *Driver) setID() string { return d.cfg.ChannelSetID + "-" + d.runID }

// resume brings m to the new channel l: its subscriptions are refreshed
// (those the server lost are added again) and its snapshot taken. A
// device without a subscription is subscribed.
func (d *Driver) resume(ctx context.Context, l *link, m *monitor) error {
	d.mu.Lock()
	sub, svc := m.sub, maps.Clone(m.svcSubs)
	gen := d.gen
	d.mu.Unlock()
	if sub == "" {
		return d.subscribe(ctx, l, m, true)
	}
	exp := xsi.Subscription{Expires: int(time.Duration(d.cfg.SubscriptionExpires) / time.Second)}
	err := d.do(ctx, http.MethodPut, subscriptionPath(sub), nil, exp, nil)
	switch {
	case errors.Is(err, plugins.ErrNotFound): // the server lost it
		d.mu.Lock()
		m.sub = ""
		d.mu.Unlock()
		return d.subscribe(ctx, l, m, true)
	case err != nil:
		return err
	}
	d.stats.resumed.Add(1)
	l.mu.Lock()
	l.subs[m.device] = sub
	l.mu.Unlock()
	for _, pkg := range servicePackages {
		id := svc[pkg]
		if id == "" || errors.Is(d.do(ctx, http.MethodPut, subscriptionPath(id), nil, exp, nil), plugins.ErrNotFound) {
			d.subscribeService(ctx, l, m, pkg)
		}
	}
	d.resnapshot(ctx, gen, m, partAll)
	return nil
}
