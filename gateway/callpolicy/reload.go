package callpolicy

// Update replaces the policy's settings with o's (a configuration
// reload): classes, class of users and trunks, trunk limits, deny-list,
// region. Calls under way keep the tickets they hold and stay counted
// against the caps, which now apply with their new values to the calls
// that follow. An invalid o changes nothing.
func (p *Policy) Update(o Options) error {
	q, err := New(o)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cls.Store(q.cls.Load())
	p.classes, p.defaultClass, p.trunkClass = q.classes, q.defaultClass, q.trunkClass
	p.users, p.trunkClasses, p.trunks = q.users, q.trunkClasses, q.trunks
	p.deny, p.maxRingSrc = q.deny, q.maxRingSrc
	return nil
}
