package mitel

// SetQueueLimit bounds the event queue of drivers made after it; it
// returns a function that puts the default back.
func SetQueueLimit(n int) (restore func()) {
	old := queueLimit
	queueLimit = n
	return func() { queueLimit = old }
}

// StallProcessor stops d's event processor until release is called: the
// PBX's events pile up in its queue, as behind a slow host.
func StallProcessor(d *Driver) (release func()) {
	ch := make(chan struct{})
	d.q.Do(func() { <-ch })
	return func() { close(ch) }
}
