package mitel_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

// TestEventFixturesFollowTheSchema reads every MiVO400 event fixture with
// the lab's own ECMA-323 reader (lab/ctisim/cstaxml, written from the
// standard): what the mapping tests feed the driver must be documents the
// standard allows, in the ed5 namespace with the csta: prefix of the trace.
func TestEventFixturesFollowTheSchema(t *testing.T) {
	files, err := filepath.Glob("testdata/events/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cstaxml.Decode(b); err != nil {
				t.Fatal(err)
			}
		})
	}
}
