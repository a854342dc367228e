package app

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// The admin UI's dashboard charts the last hour: one point a minute,
// sampled in memory (nothing else keeps a history of these figures).
const (
	statsStep   = time.Minute
	statsPoints = 60
)

// statPoint is one sample of the gateway's figures.
type statPoint struct {
	Time          time.Time `json:"time"`
	Registrations int       `json:"registrations"` // live bindings
	ActiveCalls   int       `json:"active_calls"`  // the B2BUA's calls under way
	// CallsPerSecond is the rate of finished calls (call records
	// written) over the step before Time.
	CallsPerSecond float64 `json:"calls_per_second"`
	TrunksUp       int     `json:"trunks_up"`
	Trunks         int     `json:"trunks"`
	DriversUp      int     `json:"drivers_up"`
	Drivers        int     `json:"drivers"`
}

// statsSeries is the ring of the last statsPoints samples.
type statsSeries struct {
	mu       sync.Mutex
	points   []statPoint
	lastRecs uint64
	lastAt   time.Time
}

// recordsWritten is the count of call records stored so far.
func (a *App) recordsWritten() uint64 {
	if a.cdrs == nil || a.cdrs.queue == nil {
		return 0
	}
	return a.cdrs.queue.Stats().Written
}

// sample takes one point now; keep adds it to the ring.
func (a *App) sample(now time.Time, keep bool) statPoint {
	st := &a.stats
	bindings, _ := a.reg.Location().Count(now)
	p := statPoint{Time: now.UTC(), Registrations: bindings, ActiveCalls: a.calls.Len()}
	if a.admin != nil {
		p.TrunksUp, p.Trunks, p.DriversUp, p.Drivers = a.admin.healthCounts()
	}
	recs := a.recordsWritten()
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.lastAt.IsZero() {
		if d := now.Sub(st.lastAt).Seconds(); d > 0 && recs >= st.lastRecs {
			p.CallsPerSecond = float64(recs-st.lastRecs) / d
		}
	}
	if keep {
		st.points = append(st.points, p)
		if len(st.points) > statsPoints {
			st.points = append(st.points[:0], st.points[len(st.points)-statsPoints:]...)
		}
		st.lastRecs, st.lastAt = recs, now
	}
	return p
}

// startStats samples once now and then every statsStep until ctx ends.
func (a *App) startStats(ctx context.Context, wg *sync.WaitGroup) {
	a.sample(time.Now(), true)
	wg.Go(func() {
		t := time.NewTicker(statsStep)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				a.sample(now, true)
			}
		}
	})
}

// statsSeriesView is what GET /api/v1/stats/series answers.
type statsSeriesView struct {
	StepSeconds int         `json:"step_seconds"`
	Points      []statPoint `json:"points"` // oldest first
	Now         statPoint   `json:"now"`    // taken for this request, not kept
}

// statsSeries answers GET /api/v1/stats/series: the last hour's points
// and the figures now.
func (s *adminServer) statsSeries(w http.ResponseWriter, _ *http.Request) {
	st := &s.app.stats
	now := s.app.sample(time.Now(), false)
	st.mu.Lock()
	pts := append([]statPoint(nil), st.points...)
	st.mu.Unlock()
	writeJSON(w, statsSeriesView{StepSeconds: int(statsStep / time.Second), Points: pts, Now: now})
}
