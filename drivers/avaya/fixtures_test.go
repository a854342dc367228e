package avaya_test

import (
	"os"
	"path/filepath"
	"testing"

	labavaya "github.com/switchboard-gw/switchboard/lab/avaya"
)

// TestFixturesReadBySimulator reads every DMCC fixture in testdata/ (the
// fme_* ones transcribed from the public f-me/dmcc client, see
// testdata/README.md) with the simulator's own reader (lab/avaya, written
// from the DMCC XML Programmer's Guide and ECMA-323/354, strict on
// namespaces, element names and order, and the typed login): TestGolden
// shows the driver decodes each, this that each is a document AES's
// documents allow.
func TestFixturesReadBySimulator(t *testing.T) {
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := labavaya.Parse(b); err != nil {
				t.Fatal(err)
			}
		})
	}
}
