package pbxlink

import "sync"

// Parallel runs every job, at most n at a time, and returns the first
// error one returned (nil if none). It is how a driver restores its
// monitors on a new link: each job monitors one device and returns only
// the errors that mean the link failed (a device the PBX refuses is the
// job's own business).
func Parallel(n int, jobs []func() error) error {
	sem := make(chan struct{}, max(n, 1))
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for _, job := range jobs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := job(); err != nil {
				once.Do(func() { first = err })
			}
		}()
	}
	wg.Wait()
	return first
}

// Refresh asks again for every device's snapshot, n at a time (snap asks
// the PBX for one device and queues the answer, or starts its
// re-snapshot), then calls after: how a driver answers events it lost (its
// own queue's gap, the PBX's messagesLost), after which it tells the host
// (RESYNC) in event order. The Mitel, Avaya and Cisco drivers each wrote
// this loop.
func Refresh[T any](n int, devs []T, snap func(T), after func()) {
	jobs := make([]func() error, 0, len(devs))
	for _, dev := range devs {
		jobs = append(jobs, func() error { snap(dev); return nil })
	}
	_ = Parallel(n, jobs)
	after()
}
