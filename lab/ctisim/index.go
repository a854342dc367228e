package ctisim

import "slices"

// DeviceIndex lists a switch's monitors by device, in the order they
// started, so that an event reaches its device's monitors without a look
// at every other monitor (ctibench's chaos runs hold 5,000 and more). It
// changes nothing on the wire: the same monitors get the same events.
// The zero value is not usable: make one with make(DeviceIndex[M]).
type DeviceIndex[M comparable] map[string][]M

// Add records m as a monitor of dev.
func (x DeviceIndex[M]) Add(dev string, m M) { x[dev] = append(x[dev], m) }

// Remove forgets m as a monitor of dev (nothing if it is not one).
func (x DeviceIndex[M]) Remove(dev string, m M) {
	ms := x[dev]
	i := slices.Index(ms, m)
	if i < 0 {
		return
	}
	ms = slices.Delete(ms, i, i+1)
	if len(ms) == 0 {
		delete(x, dev)
		return
	}
	x[dev] = ms
}
