package dnssrv

import (
	"reflect"
)

// TrunkChanges says what SetTrunks did, by trunk name.
type TrunkChanges struct {
	Added, Removed, Changed []string
}

// Empty reports whether nothing changed.
func (c TrunkChanges) Empty() bool { return len(c.Added)+len(c.Removed)+len(c.Changed) == 0 }

// SetTrunks replaces the trunks with opts (a configuration reload): a
// trunk whose options are unchanged is kept as it is (its resolution and
// target health with it); a new or changed one is made afresh and, once
// Start has run, resolved and probed; a removed or replaced one stops
// probing. Calls under way keep the *Trunk they hold: a retired trunk
// still sends (Trunk.Close leaves Send working).
// An error (a bad target, a duplicate name) changes nothing.
func (m *Manager) SetTrunks(opts []TrunkOptions) (TrunkChanges, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.set.Load()
	set, made, err := m.newSet(old, opts)
	if err != nil {
		return TrunkChanges{}, err
	}
	var ch TrunkChanges
	isNew := map[*Trunk]bool{}
	for _, t := range made {
		isNew[t] = true
		if old.byName[t.Name()] != nil {
			ch.Changed = append(ch.Changed, t.Name())
		} else {
			ch.Added = append(ch.Added, t.Name())
		}
	}
	for _, t := range old.list {
		if set.byName[t.Name()] == t {
			continue
		}
		if set.byName[t.Name()] == nil {
			ch.Removed = append(ch.Removed, t.Name())
		}
		if cancel := m.runs[t]; cancel != nil {
			cancel()
			delete(m.runs, t)
		}
		m.wg.Add(1)
		go func() { defer m.wg.Done(); t.Close() }() // waits for its abandoned branches
	}
	m.set.Store(set)
	if m.ctx != nil && !m.stopped {
		for _, t := range set.list {
			if isNew[t] {
				m.startLocked(t)
			}
		}
	}
	return ch, nil
}

// sameTrunk reports whether two trunk options configure the same trunk;
// the function fields (LocalAddr, Health.Now) are the gateway's, not
// configuration, and are not compared.
func sameTrunk(a, b TrunkOptions) bool {
	a.LocalAddr, b.LocalAddr = nil, nil
	a.Health.Now, b.Health.Now = nil, nil
	return reflect.DeepEqual(a, b)
}
