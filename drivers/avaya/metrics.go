package avaya

import "sync/atomic"

// Stats counts what the driver saw. The driver is a separate process, so
// it has no Prometheus registry of its own; the counters are for tests,
// logs and a future Capabilities/health extension.
type Stats struct {
	events        atomic.Uint64 // CSTA events mapped to model events
	unknown       atomic.Uint64 // events for no known monitor, or of an unknown kind
	stale         atomic.Uint64 // events of an earlier link, dropped
	dropped       atomic.Uint64 // frames the CSTA client dropped (undecodable, unmatched)
	reconnects    atomic.Uint64 // reconnect attempts after a failure
	linkUps       atomic.Uint64 // times the link came up
	monitorStarts atomic.Uint64 // successful MonitorStart requests
	resumes       atomic.Uint64 // sessions resumed by sessionID after a drop
	transfers     atomic.Uint64 // monitors moved with TransferMonitorObjects
	abandoned     atomic.Uint64 // old sessions stopped after resume and transfer failed
	resets        atomic.Uint64 // ResetApplicationSessionTimer answered
	deviceIDs     atomic.Uint64 // GetDeviceId answered
	resnaps       atomic.Uint64 // snapshots asked for again (unanswered, or overtaken by events; resnap.go)
	orphans       atomic.Uint64 // monitors AES made for a MonitorStart given up on, stopped
	messagesLost  atomic.Uint64 // SystemStatus messagesLost: every device snapshotted again (gap.go)
}

// StatsSnapshot is a copy of [Stats] at one moment.
type StatsSnapshot struct {
	Events, Unknown, Stale, Dropped, Reconnects, LinkUps, MonitorStarts uint64
	Resumes, Transfers, Abandoned, Resets, DeviceIDs                    uint64
	// QueueDrops: AES events dropped because the driver's queue was full
	// (each gap is followed by fresh snapshots and a RESYNC).
	QueueDrops uint64
	// Resnaps: device snapshots asked for again because the PBX did not
	// answer or events overtook them (resnap.go).
	Resnaps uint64
	// Orphans: monitors AES made for a MonitorStart the driver had given
	// up on (late answer), stopped by the driver.
	Orphans uint64
	// MessagesLost: SystemStatus messagesLost received (each followed by
	// fresh snapshots and a RESYNC).
	MessagesLost uint64
}

func (s *Stats) snapshot() StatsSnapshot {
	return StatsSnapshot{Events: s.events.Load(), Unknown: s.unknown.Load(), Stale: s.stale.Load(),
		Dropped: s.dropped.Load(), Reconnects: s.reconnects.Load(), LinkUps: s.linkUps.Load(),
		MonitorStarts: s.monitorStarts.Load(), Resumes: s.resumes.Load(), Transfers: s.transfers.Load(),
		Abandoned: s.abandoned.Load(),
		Resets:    s.resets.Load(), DeviceIDs: s.deviceIDs.Load(), Orphans: s.orphans.Load(), Resnaps: s.resnaps.Load(),
		MessagesLost: s.messagesLost.Load()}
}
