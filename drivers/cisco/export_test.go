package cisco

// SetQueueLimit bounds the event queue of drivers made after it; it
// returns a function that puts the default back.
func SetQueueLimit(n int) (restore func()) {
	old := queueLimit
	queueLimit = n
	return func() { queueLimit = old }
}

// StallProcessor stops d's event processor until release is called.
func StallProcessor(d *Driver) (release func()) {
	ch := make(chan struct{})
	d.q.Do(func() { <-ch })
	return func() { close(ch) }
}
