package gwcti

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/b2bua"
	"github.com/switchboard-gw/switchboard/gateway/store"
	"github.com/switchboard-gw/switchboard/plugins"
)

// A user's DND and forwarding, set through SetDND and SetForwarding, kept
// in the store's settings (one JSON value per user, key
// "gwcti.features.<user>") and applied by the B2BUA: DND answers callers
// 486 (or 480, Options.DNDStatus) instead of ringing the user's devices;
// forwarding feeds the B2BUA's diversion (b2bua.Divert): immediate
// diverts every call at once, busy and no_answer replace the configured
// users[].divert targets while enabled (disabled, the configured ones
// apply again).

// settingPrefix is the store setting key of a user's features.
const settingPrefix = "gwcti.features."

// loadTimeout bounds a user's first settings read (on the SIP path once).
const loadTimeout = 2 * time.Second

// features are a user's feature settings, as stored.
type features struct {
	DND        bool                 `json:"dnd"`
	Forwarding []plugins.Forwarding `json:"forwarding,omitempty"`
}

func (f *features) forward(t plugins.ForwardingType) (plugins.Forwarding, bool) {
	for _, fw := range f.Forwarding {
		if fw.Type == t && fw.Enabled && fw.To != "" {
			return fw, true
		}
	}
	return plugins.Forwarding{}, false
}

func (f *features) clone() features {
	return features{DND: f.DND, Forwarding: append([]plugins.Forwarding(nil), f.Forwarding...)}
}

// featuresOf returns user's features, read from the store the first time.
func (s *Source) featuresOf(user string) features {
	s.mu.Lock()
	f := s.feat[user]
	s.mu.Unlock()
	if f != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		return f.clone()
	}
	loaded := &features{}
	if s.o.Settings != nil {
		ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
		v, err := s.o.Settings.Setting(ctx, settingPrefix+user)
		cancel()
		switch {
		case err == nil && v != "":
			if err := json.Unmarshal([]byte(v), loaded); err != nil {
				s.log.Warn("user features unreadable: ignored", "user", user, "error", err)
				loaded = &features{}
			}
		case err != nil && !errors.Is(err, store.ErrNotFound):
			s.log.Warn("reading user features", "user", user, "error", err)
			return features{} // not cached: read again next time
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.feat[user]; f != nil {
		return f.clone() // set meanwhile
	}
	s.feat[user] = loaded
	return loaded.clone()
}

// update changes user's features with change, stores them, then applies
// them (a store failure changes nothing).
func (s *Source) update(ctx context.Context, user string, change func(*features)) (features, error) {
	cur := s.featuresOf(user)
	change(&cur)
	if s.o.Settings != nil {
		v, err := json.Marshal(cur)
		if err != nil {
			return features{}, err
		}
		if err := s.o.Settings.PutSetting(ctx, settingPrefix+user, string(v)); err != nil {
			return features{}, fmt.Errorf("gateway source: storing features of %s: %w", user, err)
		}
	}
	s.mu.Lock()
	n := cur.clone()
	s.feat[user] = &n
	s.mu.Unlock()
	return cur, nil
}

// DND is the B2BUA's do-not-disturb hook (b2bua.Options.DND): the status
// user's callers get, 0 when DND is off.
func (s *Source) DND(user string) int {
	if s.featuresOf(user).DND {
		return s.o.DNDStatus
	}
	return 0
}

// Divert wraps the configured diversions (users[].divert) with the
// users' forwarding (b2bua.Options.Divert).
func (s *Source) Divert(base func(user string) (b2bua.Divert, bool)) func(user string) (b2bua.Divert, bool) {
	return func(user string) (b2bua.Divert, bool) {
		var dv b2bua.Divert
		ok := false
		if base != nil {
			dv, ok = base(user)
		}
		f := s.featuresOf(user)
		if fw, on := f.forward(plugins.ForwardImmediate); on {
			dv.Always, ok = fw.To, true
		}
		if fw, on := f.forward(plugins.ForwardBusy); on {
			dv.Busy, ok = fw.To, true
		}
		if fw, on := f.forward(plugins.ForwardNoAnswer); on {
			dv.NoAnswer, ok = fw.To, true
		}
		return dv, ok
	}
}

// SetDND implements attendant.Source.
func (s *Source) SetDND(ctx context.Context, device string, enabled bool) error {
	u, err := s.device(device)
	if err != nil {
		return err
	}
	if _, err := s.update(ctx, u, func(f *features) { f.DND = enabled }); err != nil {
		return err
	}
	s.emit(plugins.Event{Type: plugins.EventDoNotDisturb, Device: u, DND: enabled})
	return nil
}

// SetForwarding implements attendant.Source: one forwarding type of the
// user, its target a number as the user would dial it.
func (s *Source) SetForwarding(ctx context.Context, device string, fw plugins.Forwarding) error {
	u, err := s.device(device)
	if err != nil {
		return err
	}
	switch fw.Type {
	case plugins.ForwardImmediate, plugins.ForwardBusy, plugins.ForwardNoAnswer:
	default:
		return fmt.Errorf("gateway source: %w: forwarding type %v", plugins.ErrInvalidArgument, fw.Type)
	}
	if fw.Enabled || fw.To != "" {
		if err := checkNumber(fw.To); err != nil {
			return err
		}
	}
	_, err = s.update(ctx, u, func(f *features) {
		for i, old := range f.Forwarding {
			if old.Type == fw.Type {
				f.Forwarding[i] = fw
				return
			}
		}
		f.Forwarding = append(f.Forwarding, fw)
	})
	if err != nil {
		return err
	}
	s.emit(plugins.Event{Type: plugins.EventForwarding, Device: u, Forwarding: &fw})
	return nil
}

// maxNumber bounds a number given to a service.
const maxNumber = 64

// checkNumber accepts a number or username as a user dials it: 1 to 64
// of digits, letters, * # + . _ -.
func checkNumber(n string) error {
	if n == "" || len(n) > maxNumber {
		return fmt.Errorf("gateway source: %w: number %q: 1 to %d characters", plugins.ErrInvalidArgument, n, maxNumber)
	}
	for _, r := range n {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '*', r == '#', r == '+', r == '.', r == '_', r == '-':
		default:
			return fmt.Errorf("gateway source: %w: number %q: character %q", plugins.ErrInvalidArgument, n, r)
		}
	}
	return nil
}
