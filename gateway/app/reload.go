package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/gateway/callpolicy"
	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/numbering"
	"github.com/switchboard-gw/switchboard/gateway/registrar"
	"github.com/switchboard-gw/switchboard/gateway/sipguard"
	"github.com/switchboard-gw/switchboard/gateway/store"
)

// A reload (SIGHUP, `switchboard reload`, POST /api/v1/reload) re-reads
// the config file and applies every change that needs no new socket,
// without dropping a call or a registration:
//
//  1. The file is loaded and validated; an invalid file changes nothing
//     (the error is logged and kept for GET /api/v1/config).
//  2. Its keys are compared with the config in force. A changed key that
//     no Reloader owns (listeners, ports, TLS files, data_dir, store,
//     media, TURN, ...) is named in the result and the log: "sip.listen
//     changed: needs a restart".
//  3. Every Reloader owning a changed key prepares its new settings (all
//     that can fail: parsing, building); one error rejects the whole
//     reload, nothing applied.
//  4. Then each commits, swapping its settings in at once (each
//     component behind its own lock or atomic pointer). A commit that
//     fails (a store error) is reported and runs again on the next
//     reload, changed keys or not.
//
// A component joins the reload with App.AddReloader from its constructor
// in New (see Reloader). The store's users and bans are re-read on every
// reload, changed or not (`switchboard users add`, `bans delete`). For
// example, the operators' pause reasons file is re-read on every reload
// (addReloaders, "pause_reasons"); a component with settings of its own
// owns their keys:
//
//	a.AddReloader(Reloader{Name: "hep", Keys: []string{"hep"},
//		Prepare: func(_ context.Context, _, next *config.Config) (func() ([]string, error), error) {
//			o, err := hepOptions(next.HEP) // check now: an error refuses the reload
//			if err != nil {
//				return nil, err
//			}
//			return func() ([]string, error) { a.hep.Set(o); return nil, nil }, nil
//		}})
//
// A key no reloader owns is reported as needing a restart: a new config
// section is "needs a restart" until its component adds a reloader.

// Reloader is one component's part in a reload.
type Reloader struct {
	// Name names the component in the result ("trunks", "cti").
	Name string
	// Keys are the config keys it applies live: a key and everything
	// under it ("trunks", "registrar.min_expires"); [*] stands for any
	// entry of a named list ("trunks[*].register").
	Keys []string
	// Always runs it on every reload, whether its keys changed or not.
	Always bool
	// Prepare checks and builds the new settings from next without
	// touching the running component, and returns the commit that swaps
	// them in. cur is the config in force.
	Prepare func(ctx context.Context, cur, next *config.Config) (commit func() (notes []string, err error), err error)
}

// restartKeys need a restart although a Reloader's key covers them.
var restartKeys = []string{"trunks[*].media_interface"}

// ReloadResult is what the last reload did (GET /api/v1/config).
type ReloadResult struct {
	Time time.Time `json:"time"`
	// Trigger is "signal" (SIGHUP, switchboard reload) or "api".
	Trigger string `json:"trigger"`
	OK      bool   `json:"ok"`
	// Error is why the reload was refused (nothing applied) or, with
	// Applied set, which part failed to commit.
	Error string `json:"error,omitempty"`
	// Applied are the keys changed since the previous config and now in
	// force; Parts the components that took them.
	Applied []string `json:"applied"`
	Parts   []string `json:"parts"`
	// NeedsRestart are the keys whose file value differs from the value
	// the gateway started with and that only a restart applies.
	NeedsRestart []string `json:"needs_restart"`
	// Notes say what the parts did ("trunk pbx2 added").
	Notes []string `json:"notes"`
}

// reloadState is the reloaders, the config in force and the last result.
type reloadState struct {
	mu        sync.Mutex
	reloaders []Reloader
	cur       *config.Config // the config in force (nil: the start config)
	last      *ReloadResult
	failed    map[string]bool // reloaders whose commit failed: run again next time
}

// AddReloader lets a component take its part of the config live on a
// reload. Call it from New (or a constructor New calls); reloaders run in
// the order they were added.
func (a *App) AddReloader(r Reloader) {
	a.reload.mu.Lock()
	defer a.reload.mu.Unlock()
	a.reload.reloaders = append(a.reload.reloaders, r)
}

// Config returns the config in force: the last file a reload applied (its
// keys that need a restart not yet in force), else the start config.
func (a *App) Config() *config.Config {
	a.reload.mu.Lock()
	defer a.reload.mu.Unlock()
	if a.reload.cur != nil {
		return a.reload.cur
	}
	return a.cfg
}

// LastReload returns the last reload's result, nil before the first.
func (a *App) LastReload() *ReloadResult {
	a.reload.mu.Lock()
	defer a.reload.mu.Unlock()
	if a.reload.last == nil {
		return nil
	}
	r := *a.reload.last
	return &r
}

// Reload re-reads the config file and applies it (SIGHUP); see
// ReloadResult for what it reports. The error is the result's.
func (a *App) Reload(ctx context.Context) error {
	res := a.ReloadAs(ctx, "signal")
	if !res.OK {
		return errors.New(res.Error)
	}
	return nil
}

// ReloadAs is Reload for a named trigger, returning the full result.
func (a *App) ReloadAs(ctx context.Context, trigger string) ReloadResult {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	res := a.reloadLocked(ctx)
	res.Time, res.Trigger = time.Now(), trigger
	for _, k := range res.NeedsRestart {
		a.log.Warn(k + " changed: needs a restart")
	}
	switch {
	case !res.OK && len(res.Applied) == 0:
		a.log.Error("reload refused: the running config is kept", "error", res.Error)
	case !res.OK:
		a.log.Error("reload partly applied", "error", res.Error, "applied", res.Applied)
	default:
		a.log.Info("reloaded", "applied", res.Applied, "parts", res.Parts, "needs_restart", res.NeedsRestart, "users", a.users.Len())
	}
	a.reload.mu.Lock()
	a.reload.last = &res
	a.reload.mu.Unlock()
	if err := writeReloadResult(a.cfg.DataDir, res); err != nil {
		a.log.Warn("writing the reload result", "error", err)
	}
	return res
}

// ReloadResultFile is the file in data_dir where the last reload's
// result is written (JSON, 0600), for `switchboard reload` to report.
const ReloadResultFile = "last-reload.json"

// writeReloadResult replaces data_dir/last-reload.json atomically.
func writeReloadResult(dataDir string, res ReloadResult) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dataDir, ReloadResultFile+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dataDir, ReloadResultFile))
}

func (a *App) reloadLocked(ctx context.Context) ReloadResult {
	res := ReloadResult{Applied: []string{}, Parts: []string{}, NeedsRestart: []string{}, Notes: []string{}}
	cur := a.Config()
	next := cur
	if a.cfgPath != "" {
		cfg, err := config.Load(a.cfgPath)
		if err != nil {
			res.Error = "reload config: " + err.Error()
			return res
		}
		next = cfg
	}
	a.reload.mu.Lock()
	reloaders := slices.Clone(a.reload.reloaders)
	retry := a.reload.failed
	a.reload.mu.Unlock()

	changed := diffKeys(configView(cur, false), configView(next, false))
	owner := func(key string) bool {
		if matchKey(restartKeys, key) {
			return false
		}
		return slices.ContainsFunc(reloaders, func(r Reloader) bool { return matchKey(r.Keys, key) })
	}
	for _, k := range diffKeys(configView(a.cfg, false), configView(next, false)) {
		if !owner(k) {
			res.NeedsRestart = append(res.NeedsRestart, k)
		}
	}
	for _, k := range changed {
		if owner(k) {
			res.Applied = append(res.Applied, k)
		}
	}

	type step struct {
		name   string
		commit func() ([]string, error)
	}
	var steps []step
	for _, r := range reloaders {
		if !r.Always && !retry[r.Name] && !slices.ContainsFunc(res.Applied, func(k string) bool { return matchKey(r.Keys, k) }) {
			continue
		}
		commit, err := r.Prepare(ctx, cur, next)
		if err != nil {
			res.Applied = []string{}
			res.Error = fmt.Sprintf("reload %s: %v", r.Name, err)
			return res
		}
		steps = append(steps, step{r.Name, commit})
	}
	var errs []error
	failed := map[string]bool{}
	for _, s := range steps {
		notes, err := s.commit()
		res.Notes = append(res.Notes, notes...)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
			failed[s.name] = true
			continue
		}
		res.Parts = append(res.Parts, s.name)
	}
	a.reload.mu.Lock()
	a.reload.cur = next
	a.reload.failed = failed
	a.reload.mu.Unlock()
	if len(errs) > 0 {
		res.Error = errors.Join(errs...).Error()
		return res
	}
	res.OK = true
	return res
}

// listIndex matches the entry names of a key path: trunks[pbx].target.
var listIndex = regexp.MustCompile(`\[[^\]]*\]`)

// matchKey reports whether key is one of keys or under one ("[*]" in
// keys matches any entry).
func matchKey(keys []string, key string) bool {
	generic := listIndex.ReplaceAllString(key, "[*]")
	for _, k := range keys {
		for _, c := range []string{key, generic} {
			if c == k || strings.HasPrefix(c, k+".") || strings.HasPrefix(c, k+"[") {
				return true
			}
		}
	}
	return false
}

// addReloaders registers the gateway's own live parts. Called at the end
// of New, when every component exists.
func (a *App) addReloaders() {
	a.AddReloader(Reloader{Name: "users", Keys: []string{"users"}, Always: true,
		Prepare: func(ctx context.Context, cur, next *config.Config) (func() ([]string, error), error) {
			return func() ([]string, error) {
				if err := a.syncInlineUsers(ctx, next); err != nil {
					return nil, err
				}
				removed, err := a.dropInlineUsers(ctx, cur, next)
				if err != nil {
					return nil, err
				}
				n, err := a.users.Reload(ctx, a.store)
				if err != nil {
					return nil, err
				}
				a.live.diverts.Store(new(divertsOf(next)))
				if err := a.loadBans(ctx); err != nil {
					return nil, err
				}
				notes := []string{fmt.Sprintf("%d users", n)}
				for _, u := range removed {
					notes = append(notes, "user "+u+" removed")
				}
				return notes, nil
			}, nil
		}})
	if lv := logLevelVar(a.log); lv != nil {
		a.AddReloader(Reloader{Name: "log", Keys: []string{"log.level"},
			Prepare: func(_ context.Context, _, next *config.Config) (func() ([]string, error), error) {
				return func() ([]string, error) {
					lv.Set(logLevel(next.Log.Level))
					return []string{"log level " + lv.Level().String()}, nil
				}, nil
			}})
	}
	a.AddReloader(Reloader{Name: "trunks", Keys: []string{"trunks", "calls.session_expires", "calls.min_se", "call_policy.pickup"},
		Prepare: a.prepareTrunks})
	a.AddReloader(Reloader{Name: "numbering", Keys: []string{"numbering", "trunks"},
		Prepare: func(_ context.Context, _, next *config.Config) (func() ([]string, error), error) {
			plan, err := numbering.FromConfig(next)
			if err != nil {
				return nil, err
			}
			return func() ([]string, error) { a.live.plan.Store(plan); return nil, nil }, nil
		}})
	a.AddReloader(Reloader{Name: "call_policy", Keys: []string{"call_policy", "users", "trunks", "numbering.region"},
		Prepare: func(_ context.Context, _, next *config.Config) (func() ([]string, error), error) {
			o := callPolicyOptions(next)
			if _, err := callpolicy.New(o); err != nil { // what Update checks
				return nil, err
			}
			return func() ([]string, error) { return nil, a.policy.Update(o) }, nil
		}})
	a.AddReloader(Reloader{Name: "records", Keys: []string{"records.retention_days"},
		Prepare: func(_ context.Context, _, next *config.Config) (func() ([]string, error), error) {
			return func() ([]string, error) {
				a.setRetention(next.Records.RetentionDays)
				return []string{fmt.Sprintf("records kept %d days", next.Records.RetentionDays)}, nil
			}, nil
		}})
	a.AddReloader(Reloader{Name: "registrar", Keys: []string{"registrar.default_expires", "registrar.min_expires", "registrar.max_expires"},
		Prepare: func(_ context.Context, _, next *config.Config) (func() ([]string, error), error) {
			sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
			e := registrar.Expiries{Default: sec(next.Registrar.DefaultExpires), Min: sec(next.Registrar.MinExpires), Max: sec(next.Registrar.MaxExpires)}
			return func() ([]string, error) { return nil, a.reg.SetExpiries(e) }, nil
		}})
	if a.ops != nil {
		// The pause reasons file is also polled (accounts.go); a reload
		// reads it at once. Its path and the pause mode need a restart.
		a.AddReloader(Reloader{Name: "pause_reasons", Always: true,
			Prepare: func(context.Context, *config.Config, *config.Config) (func() ([]string, error), error) {
				return func() ([]string, error) { return nil, a.ops.Reload() }, nil
			}})
	}
	a.AddReloader(Reloader{Name: "security", Keys: []string{"security.rate_limit", "security.ban"},
		Prepare: func(_ context.Context, _, next *config.Config) (func() ([]string, error), error) {
			sec := next.Security
			l := sipguard.Limits{RatePerSecond: float64(sec.RateLimit.RequestsPerSecond), Burst: sec.RateLimit.Burst,
				BanFailures: sec.Ban.Failures, BanWindow: sec.Ban.Window.D(), BanDuration: sec.Ban.Duration.D(), ScanUsers: sec.Ban.ScanUsers}
			return func() ([]string, error) { a.guard.SetLimits(l); return nil, nil }, nil
		}})
	a.AddReloader(Reloader{Name: "cti", Keys: []string{"cti.drivers"},
		Prepare: func(ctx context.Context, _, next *config.Config) (func() ([]string, error), error) {
			return func() ([]string, error) {
				ch, err := a.cti.Update(ctx, next.CTI.Drivers)
				// The attendant model controls a new or restarted driver
				// through its new supervisor and watches its monitors. A
				// removed driver's lamps stay, stale after its link_down.
				for _, d := range next.CTI.Drivers {
					if slices.Contains(ch.Added, d.Name) || slices.Contains(ch.Changed, d.Name) {
						if sup, ok := a.cti.Driver(d.Name); ok {
							a.att.AddSource(sup, d.Monitor...)
						}
					}
				}
				var notes []string
				for _, n := range ch.Added {
					notes = append(notes, "cti driver "+n+" added")
				}
				for _, n := range ch.Changed {
					notes = append(notes, "cti driver "+n+" restarted")
				}
				for _, n := range ch.Removed {
					notes = append(notes, "cti driver "+n+" removed")
				}
				return notes, err
			}, nil
		}})
}

// prepareTrunks checks the new trunks; its commit puts them in dns, then
// points the B2BUA, the guard and the trunk registrations at them.
func (a *App) prepareTrunks(_ context.Context, _, next *config.Config) (func() ([]string, error), error) {
	opts := make([]dnssrv.TrunkOptions, 0, len(next.Trunks))
	for _, tc := range next.Trunks {
		o := TrunkOptions(tc)
		if err := checkTrunkTarget(o); err != nil {
			return nil, err
		}
		opts = append(opts, o)
	}
	return func() ([]string, error) {
		ch, err := a.dns.SetTrunks(opts)
		if err != nil {
			return nil, err
		}
		var notes []string
		for _, n := range ch.Added {
			notes = append(notes, "trunk "+n+" added")
		}
		for _, n := range ch.Changed {
			notes = append(notes, "trunk "+n+" changed")
		}
		for _, n := range ch.Removed {
			notes = append(notes, "trunk "+n+" removed")
		}
		tc, err := newTrunkCalls(next, a.dns)
		if err != nil {
			return notes, err
		}
		a.live.routes.Store(&tc.routes)
		a.calls.SetLive(tc.live)
		a.guard.SetProtected(trunkAddress(a.dns.Trunks()))
		started, stopped, err := a.tregs.update(next.Trunks)
		for _, n := range stopped {
			notes = append(notes, "trunk "+n+" registration stopped")
		}
		for _, n := range started {
			notes = append(notes, "trunk "+n+" registration started")
		}
		return notes, err
	}, nil
}

// dropInlineUsers deletes from the store the users the config in force
// listed under users: and next no longer does (users added with the CLI
// or an import are not the file's to remove).
func (a *App) dropInlineUsers(ctx context.Context, cur, next *config.Config) ([]string, error) {
	keep := map[string]bool{}
	for _, u := range next.Users {
		keep[u.Username] = true
	}
	var removed []string
	for _, u := range cur.Users {
		if keep[u.Username] {
			continue
		}
		if err := a.store.DeleteUser(ctx, u.Username); err != nil && !errors.Is(err, store.ErrNotFound) {
			return removed, fmt.Errorf("remove user %s: %w", u.Username, err)
		}
		removed = append(removed, u.Username)
	}
	return removed, nil
}
