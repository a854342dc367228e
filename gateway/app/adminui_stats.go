package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// The admin UI's dashboard charts the last hour: one point a minute,
// sampled in memory (nothing else keeps a history of these figures) and
// written to data_dir/StatsSeriesFile after each sample, so that the
// charts survive a restart: at start the points of the last hour are read
// back (older ones, and a file that does not parse, are dropped; the
// restart's gap shows as the time between two points).
const (
	statsStep   = time.Minute
	statsPoints = 60
)

// StatsSeriesFile is the file in data_dir holding the dashboard's last
// hour (JSON, 0600).
const StatsSeriesFile = "stats-series.json"

// maxStatsFile bounds what is read back: 60 points are a few KiB.
const maxStatsFile = 1 << 20

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
	file     string // data_dir/StatsSeriesFile; "" keeps nothing on disk
}

// loadStats reads the points of the hour before now back from path.
func loadStats(path string, now time.Time) ([]statPoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var saved struct {
		Points []statPoint `json:"points"`
	}
	dec := json.NewDecoder(&limitedReader{r: f, n: maxStatsFile})
	if err := dec.Decode(&saved); err != nil {
		return nil, fmt.Errorf("stats series %s: %w", path, err)
	}
	var out []statPoint
	for _, p := range saved.Points {
		// the last hour only, in order, none from the future
		if p.Time.After(now.Add(-statsPoints*statsStep)) && !p.Time.After(now) &&
			(len(out) == 0 || p.Time.After(out[len(out)-1].Time)) {
			out = append(out, p)
		}
	}
	if len(out) > statsPoints {
		out = out[len(out)-statsPoints:]
	}
	return out, nil
}

// limitedReader fails once more than n bytes were read (io.LimitReader
// would cut the file short silently).
type limitedReader struct {
	r io.Reader
	n int64
}

var errStatsTooLarge = errors.New("file too large")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errStatsTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// saveStats replaces path atomically with points.
func saveStats(path string, points []statPoint) error {
	b, err := json.Marshal(map[string]any{"step_seconds": int(statsStep / time.Second), "points": points})
	if err != nil {
		return err
	}
	// hidden while written: a backup (gateway/backup) takes data_dir's
	// files but not hidden ones, so it never lists one that goes away
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+StatsSeriesFile+".*")
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
	return os.Rename(tmp.Name(), path)
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
	defer func() {
		var pts []statPoint
		if keep && st.file != "" {
			pts = append(pts, st.points...)
		}
		file := st.file
		st.mu.Unlock()
		if pts != nil {
			if err := saveStats(file, pts); err != nil {
				a.log.Warn("dashboard series not saved", "file", file, "error", err)
			}
		}
	}()
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

// startStats reads back the last hour kept in data_dir, samples once now
// and then every statsStep until ctx ends.
func (a *App) startStats(ctx context.Context, wg *sync.WaitGroup) {
	if a.cfg.DataDir != "" {
		file := filepath.Join(a.cfg.DataDir, StatsSeriesFile)
		pts, err := loadStats(file, time.Now())
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			a.log.Warn("dashboard series not read back", "error", err)
		}
		a.stats.mu.Lock()
		a.stats.file, a.stats.points = file, pts
		a.stats.mu.Unlock()
	}
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
