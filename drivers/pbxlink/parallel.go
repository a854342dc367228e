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
