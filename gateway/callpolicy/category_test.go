package callpolicy

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/classify.golden")

// TestClassifyGolden reads testdata/classify.golden: region, number, the
// category and E.164 form expected ("-" for none). A region of "-" means
// no home region. Reviewed by hand: -update rewrites the file, and the
// diff is what a change to the classifier does to real numbers.
func TestClassifyGolden(t *testing.T) {
	const path = "testdata/classify.golden"
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out strings.Builder
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		l := sc.Text()
		fs := strings.Fields(l)
		if len(fs) == 0 || strings.HasPrefix(l, "#") {
			out.WriteString(l + "\n")
			continue
		}
		if len(fs) < 4 {
			t.Fatalf("%s:%d: want region number category e164", path, line)
		}
		region := fs[0]
		if region == "-" {
			region = ""
		}
		got := NewClassifier(region).Classify(fs[1])
		e164 := got.E164
		if e164 == "" {
			e164 = "-"
		}
		fmt.Fprintf(&out, "%-3s %-18s %-14s %s\n", fs[0], fs[1], got.Category, e164)
		if !*update && (string(got.Category) != fs[2] || e164 != fs[3]) {
			t.Errorf("%s:%d: region %s %s = %s %s, want %s %s", path, line, fs[0], fs[1], got.Category, e164, fs[2], fs[3])
		}
	}
	if *update {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzClassify: whatever the input, a number classified Premium,
// International or TollFree has an E.164 form the deny-list can match,
// and a number with a + never classifies as Private or Internal.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{"+97912345678", "0900123456", "2000", "00441234", "*97", "+", "00", "112", "0112642351234"} {
		f.Add("CH", s)
		f.Add("US", s)
		f.Add("", s)
	}
	f.Fuzz(func(t *testing.T, region, number string) {
		if region != "" && region != "CH" && region != "US" && region != "GB" {
			return
		}
		c := NewClassifier(region).Classify(number)
		switch c.Category {
		case Premium, International, TollFree:
			if !strings.HasPrefix(c.E164, "+") {
				t.Fatalf("%s %q: %s without an E.164 form (%q)", region, number, c.Category, c.E164)
			}
		}
		if n := strings.TrimSpace(number); strings.HasPrefix(n, "+") && dialable(n) && (c.Category == Private || c.Category == Internal) {
			t.Fatalf("%s %q: a + number classified %s", region, number, c.Category)
		}
	})
}
