package registrar

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

// ErrNoBinding means Unregister found no live binding to remove.
var ErrNoBinding = errors.New("no such binding")

// Unregister removes the bindings of aor — every one, or only the one
// whose Key is key when key is not empty — as an administrator's forced
// unregistration: durable first, then in memory, under the AOR's lock
// like a REGISTER (RFC 3261 §10.3 step 6 for the "*" case). It returns
// how many it removed, or an error wrapping ErrNoBinding.
func (r *Registrar) Unregister(ctx context.Context, aor, key string) (int, error) {
	now := r.o.Now()
	rec := r.loc.lock(aor)
	defer rec.mu.Unlock()
	next := live(rec.bindings, now)
	var changes []store.BindingChange
	next = slices.DeleteFunc(next, func(b store.Binding) bool {
		if key != "" && b.Key() != key {
			return false
		}
		changes = append(changes, store.BindingChange{Delete: &store.BindingKey{AOR: aor, Key: b.Key()}})
		return true
	})
	if len(changes) == 0 {
		return 0, fmt.Errorf("unregister %s: %w", aor, ErrNoBinding)
	}
	if err := r.o.Persist.Apply(ctx, changes...); err != nil {
		r.count(func(s *Stats) { s.StoreErrors++ })
		return 0, fmt.Errorf("unregister %s: %w", aor, err)
	}
	rec.bindings = next
	if r.o.OnBindings != nil {
		r.o.OnBindings(aor, len(next))
	}
	r.count(func(s *Stats) { s.Unregistered++ })
	r.log.Info("bindings removed by an administrator", "aor", aor, "count", len(changes))
	return len(changes), nil
}
