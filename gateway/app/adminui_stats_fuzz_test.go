package app

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLoadStatsHostile: what loadStats reads back from a file it did not
// write: points from the future, older than an hour, out of order or
// repeated are dropped; more than an hour's worth keeps the newest; a file
// over 1 MiB, garbage or an empty file is an error.
func TestLoadStatsHostile(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	at := func(min int) statPoint {
		return statPoint{Time: now.Add(time.Duration(min) * time.Minute), ActiveCalls: min + 100}
	}
	enc := func(pts ...statPoint) string {
		b, _ := json.Marshal(map[string]any{"points": pts})
		return string(b)
	}
	many := make([]statPoint, 0, 200)
	for i := -59; i <= 0; i++ {
		for range 3 {
			many = append(many, at(i)) // repeated times: one kept each
		}
	}
	for _, tc := range []struct {
		name, file string
		want       []int // minutes of the points kept
		err        bool
	}{
		{"in order", enc(at(-3), at(-2), at(-1)), []int{-3, -2, -1}, false},
		{"too old and future", enc(at(-90), at(-60), at(-10), at(5)), []int{-10}, false},
		{"out of order", enc(at(-5), at(-7), at(-4), at(-4)), []int{-5, -4}, false},
		{"repeats", enc(many...), nil, false},
		{"empty points", `{"points":[]}`, []int{}, false},
		{"garbage", `{"points":[{"time":"yesterday"}]}`, nil, true},
		{"not JSON", strings.Repeat("{", 100), nil, true},
		{"empty file", "", nil, true},
		{"oversized", `{"points":[],"x":"` + strings.Repeat("a", maxStatsFile) + `"}`, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), StatsSeriesFile)
			if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := loadStats(path, now)
			if (err != nil) != tc.err {
				t.Fatalf("error %v, want error %v", err, tc.err)
			}
			if tc.name == "oversized" && !errors.Is(err, errStatsTooLarge) {
				t.Errorf("oversized: %v", err)
			}
			if tc.name == "repeats" {
				if len(got) != 60 || !got[0].Time.Equal(now.Add(-59*time.Minute)) || !got[59].Time.Equal(now) {
					t.Fatalf("%d points from %v", len(got), got[0].Time)
				}
				return
			}
			if tc.want == nil {
				return
			}
			if len(got) != len(tc.want) {
				t.Fatalf("kept %+v, want minutes %v", got, tc.want)
			}
			for i, m := range tc.want {
				if !got[i].Time.Equal(now.Add(time.Duration(m)*time.Minute)) || got[i].ActiveCalls != m+100 {
					t.Errorf("point %d: %+v, want minute %d", i, got[i], m)
				}
			}
		})
	}
}

// FuzzLoadStats: whatever the file holds, what is read back is at most an
// hour's points, strictly in time order, none older than an hour or from
// the future, and saving them and reading them back gives the same.
func FuzzLoadStats(f *testing.F) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	f.Add(`{"points":[{"time":"2026-12-07T09:58:00Z","registrations":3},{"time":"2026-12-07T09:59:00Z"}]}`)
	f.Add(`{"points":[{"time":"2026-12-07T11:00:00Z"},{"time":"2026-12-07T08:00:00Z"}]}`)
	f.Add(`{"step_seconds":60}`)
	f.Fuzz(func(t *testing.T, data string) {
		dir := t.TempDir()
		path := filepath.Join(dir, StatsSeriesFile)
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := loadStats(path, now)
		if err != nil {
			return
		}
		if len(got) > statsPoints {
			t.Fatalf("%d points", len(got))
		}
		for i, p := range got {
			if !p.Time.After(now.Add(-statsPoints*statsStep)) || p.Time.After(now) {
				t.Fatalf("point %d at %v kept", i, p.Time)
			}
			if i > 0 && !p.Time.After(got[i-1].Time) {
				t.Fatalf("point %d at %v after %v", i, p.Time, got[i-1].Time)
			}
		}
		if err := saveStats(path, got); err != nil {
			t.Fatal(err)
		}
		again, err := loadStats(path, now)
		if err != nil || len(again) != len(got) {
			t.Fatalf("read back %d points (%v), saved %d", len(again), err, len(got))
		}
	})
}
