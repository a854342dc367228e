package cisco

import "sync/atomic"

// Stats counts what the driver saw. The driver is a separate process, so
// it has no Prometheus registry of its own; the counters are for tests,
// logs and a future Capabilities/health extension.
type Stats struct {
	events         atomic.Uint64 // Xsi events mapped
	unknown        atomic.Uint64 // events for no monitored user, or of an unknown type
	stale          atomic.Uint64 // events of an earlier channel, dropped
	duplicates     atomic.Uint64 // events sent again (same eventID), dropped
	malformed      atomic.Uint64 // channel documents that did not parse or were too large
	acks           atomic.Uint64 // event responses sent
	heartbeats     atomic.Uint64 // heartbeats the server accepted
	heartbeatsSeen atomic.Uint64 // ChannelHeartBeat documents streamed back
	refreshes      atomic.Uint64 // channel updates (expires) accepted
	stalls         atomic.Uint64 // channels given up for streaming nothing
	reconnects     atomic.Uint64 // reconnect attempts after a failure
	channels       atomic.Uint64 // channels opened with every subscription restored
	linkUps        atomic.Uint64 // times the link came up (link_up emitted)
	subscriptions  atomic.Uint64 // subscriptions added
	renewals       atomic.Uint64 // subscriptions renewed after a SubscriptionTerminatedEvent
	renewDrops     atomic.Uint64 // renewals or resyncs not queued (left to the next refresh or gap)
	ackDrops       atomic.Uint64 // event responses the server did not take (refused, failed, or not queued)
	unhealthy      atomic.Uint64 // channels given up after ackDropsUnhealthy dropped responses in a row
	seqGaps        atomic.Uint64 // sequenceNumber gaps: a subscription's events lost on the way
	resyncs        atomic.Uint64 // device snapshots taken again after a gap
	resumed        atomic.Uint64 // devices whose subscription a new channel in the same set kept
	wide           atomic.Uint64 // group or service provider subscriptions added
	wideRefused    atomic.Uint64 // wide subscriptions refused (per-user ones instead)
}

// StatsSnapshot is a copy of [Stats] at one moment.
type StatsSnapshot struct {
	Events, Unknown, Stale, Duplicates, Malformed, Acks, Heartbeats, HeartbeatsSeen, Refreshes,
	Stalls, Reconnects, Channels, LinkUps, Subscriptions, Renewals, RenewDrops, SeqGaps, Resyncs, AckDrops, Unhealthy uint64
	// QueueDrops: channel events dropped because the driver's queue was
	// full (each gap is followed by fresh snapshots and a RESYNC).
	QueueDrops uint64
	// Resumed: devices whose call subscription outlived a lost channel
	// (kept by the channel set, not subscribed again).
	Resumed uint64
	// Wide: group or service provider subscriptions added; WideRefused:
	// the server refused them and per-user ones were made instead.
	Wide, WideRefused uint64
}

func (s *Stats) snapshot() StatsSnapshot {
	return StatsSnapshot{Events: s.events.Load(), Unknown: s.unknown.Load(), Stale: s.stale.Load(),
		Duplicates: s.duplicates.Load(), Malformed: s.malformed.Load(), Acks: s.acks.Load(),
		Heartbeats: s.heartbeats.Load(), HeartbeatsSeen: s.heartbeatsSeen.Load(), Refreshes: s.refreshes.Load(),
		Stalls: s.stalls.Load(), Reconnects: s.reconnects.Load(), Channels: s.channels.Load(),
		LinkUps: s.linkUps.Load(), Subscriptions: s.subscriptions.Load(), Renewals: s.renewals.Load(),
		RenewDrops: s.renewDrops.Load(), SeqGaps: s.seqGaps.Load(), Resyncs: s.resyncs.Load(),
		AckDrops: s.ackDrops.Load(), Unhealthy: s.unhealthy.Load(), Resumed: s.resumed.Load(),
		Wide: s.wide.Load(), WideRefused: s.wideRefused.Load()}
}
