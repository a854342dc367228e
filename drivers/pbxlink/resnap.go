package pbxlink

import "time"

// MaxResnaps is the re-snapshot of a device (its snapshot overtaken by
// the device's events each time) from which a driver takes the snapshot
// even so: a device with events every few milliseconds would otherwise
// never get its calls; the events after the snapshot correct what it
// lacks.
const MaxResnaps = 5

// ResnapDelay is the wait before re-snapshot attempt n (1, 2, ...) of a
// device whose snapshot failed (no answer from the PBX) or was overtaken
// by events: 50 ms doubled each time, at most 2 s. Until one is taken,
// the device's calls are only what events since said (after a link drop,
// a call up before it is missing), so a driver asks again for as long as
// the link lasts: a PBX that does not answer at all is found by the
// link's keepalive, and the new link snapshots every device.
func ResnapDelay(n int) time.Duration {
	d := 50 * time.Millisecond
	for i := 1; i < n && d < 2*time.Second; i++ {
		d *= 2
	}
	return min(d, 2*time.Second)
}
