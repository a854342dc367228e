package ctisim

import "sync"

// Refusals records the documents a simulator's own parser refused (wrong
// namespace, unknown element, out of the schema's order): what a test
// checks to know the driver's requests are what the vendor's documents
// describe. It keeps the first 100.
type Refusals struct {
	mu   sync.Mutex
	errs []string
}

// Add records err.
func (r *Refusals) Add(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) < 100 {
		r.errs = append(r.errs, err.Error())
	}
}

// List returns what was refused so far, oldest first.
func (r *Refusals) List() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}
