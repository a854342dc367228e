package app

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
	"github.com/switchboard-gw/switchboard/gateway/cdr"
	"github.com/switchboard-gw/switchboard/gateway/store"
)

// retentionInterval is how often old call records are deleted.
const retentionInterval = 24 * time.Hour

// dropLogInterval bounds how often a dropped call record is logged.
const dropLogInterval = 10 * time.Second

// records is the call records side of the gateway: the queue the B2BUA
// hands finished calls to, and the retention counters.
type records struct {
	queue    *cdr.Queue
	deleted  atomic.Uint64
	lastDrop atomic.Int64 // unix nanoseconds of the last drop logged
}

// newRecords starts the call record queue on the store. Called once the
// store is open.
func (a *App) newRecords() {
	a.cdrs = &records{}
	a.cdrs.queue = cdr.NewQueue(a.store, cdr.QueueOptions{
		Size: a.cfg.Records.QueueSize,
		OnDrop: func(r cdr.Record) {
			now := time.Now().UnixNano()
			last := a.cdrs.lastDrop.Load()
			if now-last >= int64(dropLogInterval) && a.cdrs.lastDrop.CompareAndSwap(last, now) {
				a.log.Warn("call record dropped: the record queue is full (records.queue_size)",
					"call_id", r.CallID, "dropped_total", a.cdrs.queue.Stats().Dropped)
			}
		},
		OnError: func(err error, n int) {
			a.log.Error("writing call records", "records", n, "error", err)
		},
	})
}

// Recorder returns the call record sink for the B2BUA.
func (a *App) Recorder() cdr.Recorder { return a.cdrs.queue }

// closeRecords flushes the queued records; before the store closes.
func (a *App) closeRecords() {
	if a.cdrs != nil && a.cdrs.queue != nil {
		_ = a.cdrs.queue.Close()
	}
}

// startRetention deletes records older than records.retention_days once
// now and then daily, until ctx ends. wg tracks the goroutine.
func (a *App) startRetention(ctx context.Context, wg *sync.WaitGroup) {
	days := a.cfg.Records.RetentionDays
	if days <= 0 {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(retentionInterval)
		defer t.Stop()
		for {
			a.pruneRecords(ctx, days)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// pruneRecords deletes the records set up more than days days ago.
func (a *App) pruneRecords(ctx context.Context, days int) {
	cut := time.Now().Add(-time.Duration(days) * 24 * time.Hour)
	n, err := a.store.DeleteRecordsBefore(ctx, cut)
	switch {
	case err != nil && ctx.Err() == nil:
		a.log.Error("deleting old call records", "before", cut, "error", err)
	case n > 0:
		a.cdrs.deleted.Add(uint64(n))
		a.log.Info("deleted old call records", "count", n, "before", cut.UTC().Format(time.RFC3339))
	}
}

// callsPage is the answer of GET /api/v1/history.
type callsPage struct {
	Calls []callView `json:"calls"`
	// Next is the before= value of the next (older) page; empty on the
	// last page.
	Next string `json:"next,omitempty"`
}

type callView struct {
	cdr.Record
	DurationS float64 `json:"duration_s"`
}

// history answers GET /api/v1/history?user=&limit=&before=: the finished
// calls of a user (by username, which also selects the user's extension),
// newest first. before is an RFC 3339 time or the next value of a previous
// page. An operator sees only their own calls: user is their account
// whatever the query says.
func (s *adminServer) history(w http.ResponseWriter, r *http.Request) {
	var q store.CallQuery
	v := r.URL.Query()
	u := v.Get("user")
	if p, ok := accounts.PrincipalFrom(r.Context()); ok && !p.Role.Allows(accounts.RoleSupervisor) {
		u = p.Account
	}
	if u != "" {
		q.Parties = []string{u}
		if p := s.app.users.users.Load(); p != nil {
			if user, ok := (*p)[u]; ok && user.Extension != "" && user.Extension != u {
				q.Parties = append(q.Parties, user.Extension)
			}
		}
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > store.MaxCallLimit {
			problem(w, http.StatusBadRequest, "bad limit", "limit must be from 1 to "+strconv.Itoa(store.MaxCallLimit))
			return
		}
		q.Limit = n
	}
	if b := v.Get("before"); b != "" {
		ts, id, _ := strings.Cut(b, ",")
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			problem(w, http.StatusBadRequest, "bad before", "before must be an RFC 3339 time or the next value of a previous page")
			return
		}
		q.Before, q.BeforeID = t, id
	}
	recs, err := s.app.store.CallHistory(r.Context(), q)
	if errors.Is(err, store.ErrInvalid) {
		problem(w, http.StatusBadRequest, "bad query", err.Error())
		return
	}
	if err != nil {
		problem(w, http.StatusInternalServerError, "store error", err.Error())
		return
	}
	page := callsPage{Calls: make([]callView, 0, len(recs))}
	for _, rec := range recs {
		page.Calls = append(page.Calls, callView{Record: rec, DurationS: rec.Duration().Seconds()})
	}
	limit := q.Limit
	if limit == 0 {
		limit = store.DefaultCallLimit
	}
	if len(recs) == limit {
		last := recs[len(recs)-1]
		page.Next = last.Setup.UTC().Format(time.RFC3339Nano) + "," + last.ID
	}
	writeJSON(w, page)
}

// recordRoutes adds the call history to the API (it was GET
// /api/v1/calls, which is now the active calls of the attendant API).
func (s *adminServer) recordRoutes(mux *http.ServeMux) {
	s.route(mux, "GET /api/v1/history", accounts.RoleOperator, s.history)
}

// recordMetrics registers the call record counters.
func (s *adminServer) recordMetrics(reg *prometheus.Registry) {
	c := s.app.cdrs
	counter := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "switchboard", Name: name, Help: help}, f))
	}
	counter("call_records_written_total", "Call records stored.", func() float64 { return float64(c.queue.Stats().Written) })
	counter("call_records_dropped_total", "Call records dropped because the record queue was full.", func() float64 { return float64(c.queue.Stats().Dropped) })
	counter("call_records_failed_total", "Call records lost to a failed store write.", func() float64 { return float64(c.queue.Stats().Failed) })
	counter("call_records_deleted_total", "Call records deleted by retention.", func() float64 { return float64(c.deleted.Load()) })
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "switchboard", Name: "call_records_queued", Help: "Call records waiting to be written."},
		func() float64 { return float64(c.queue.Stats().Queued) }))
}
