package main

import (
	"os"
	"time"
)

// profileWindowEnv overrides profileWindow (a Go duration): a driver
// process the bench ends before the window closes (the one restoring
// after kill -9 lives ~10 s) writes no profile.
const profileWindowEnv = "CTIBENCH_PROFILE_WINDOW"

func init() {
	if d, err := time.ParseDuration(os.Getenv(profileWindowEnv)); err == nil && d > 0 {
		profileWindow = d
	}
}
