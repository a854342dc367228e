package app

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStatsSeriesSurvivesRestart: the dashboard's points of the last hour
// are there again after a restart on the same data_dir (same times, same
// figures), a point older than an hour written into the file is dropped,
// and a garbage file is ignored: the gateway starts with a fresh series.
func TestStatsSeriesSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "switchboard.yaml")
	yaml := "domain: example.com\ndata_dir: " + filepath.Join(dir, "data") + "\n" +
		"sip:\n  listen: [udp://127.0.0.1:0]\nhttp:\n  listen: 127.0.0.1:0\n" +
		"users:\n  - {username: u1000, password: secret}\n" +
		"turn: {enabled: false}\nwebrtc: {port: 0}\nattendant: {console_link: {tls: \"\"}}\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	series := func(a *App) statsSeriesView {
		r := do(t, clientFrom("127.0.0.1"), "https://"+a.AdminAddr(), call{method: "GET", path: "/api/v1/stats/series", basic: adminBasic(a)})
		want(t, "series", r, http.StatusOK)
		var v statsSeriesView
		r.json(t, &v)
		return v
	}
	file := filepath.Join(dir, "data", StatsSeriesFile)

	var before []statPoint
	t.Run("first run", func(t *testing.T) {
		a := startApp(t, path, nil, nil)
		newTestPhone(t, a, "u1000", 0) // a registration, so the points are not all zero
		a.sample(time.Now(), true)
		a.sample(time.Now(), true)
		before = series(a).Points
		if len(before) != 3 || before[2].Registrations != 1 {
			t.Fatalf("points before the restart: %+v", before)
		}
	})

	// An hour-old point slipped in at the front of the file is dropped.
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the series file: %v", err)
	}
	var saved struct{ Points []statPoint }
	if err := json.Unmarshal(raw, &saved); err != nil {
		t.Fatal(err)
	}
	old := before[0]
	old.Time = old.Time.Add(-2 * time.Hour)
	old.ActiveCalls = 99
	saved.Points = append([]statPoint{old}, saved.Points...)
	raw, _ = json.Marshal(saved)
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("after the restart", func(t *testing.T) {
		a := startApp(t, path, nil, nil)
		after := series(a).Points
		if len(after) != len(before)+1 {
			t.Fatalf("%d points after the restart, want the %d before and the start's: %+v", len(after), len(before), after)
		}
		for i, p := range before {
			q := after[i]
			if !q.Time.Equal(p.Time) || q.Registrations != p.Registrations || q.ActiveCalls != p.ActiveCalls {
				t.Errorf("point %d: %+v after the restart, %+v before", i, q, p)
			}
		}
	})

	if err := os.WriteFile(file, []byte(strings.Repeat("{garbage", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("garbage file", func(t *testing.T) {
		a := startApp(t, path, nil, nil)
		if pts := series(a).Points; len(pts) != 1 {
			t.Fatalf("points after a garbage file: %+v", pts)
		}
	})
}
