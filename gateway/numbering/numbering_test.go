package numbering

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/gateway/config"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// testPlan is the plan of the golden tests: a Swiss site whose phones
// dial 0 for an outside line.
func testPlan(t testing.TB) *Plan {
	t.Helper()
	p, err := New(Options{
		Region:        "ch",
		Present:       National,
		OutsidePrefix: "0",
		Trunks: map[string]Rule{
			"e164":     {Strip: 1, Format: E164},            // 0 + national or 00 international
			"national": {Strip: 1, Format: National},        // PBX wants national numbers
			"prefix":   {Strip: 1, Prefix: "+41"},           // add the country code by hand
			"plain":    {},                                  // as dialled
			"e164raw":  {Format: E164},                      // phones dial without outside line
			"service":  {Strip: 2, Prefix: "*", Format: ""}, // 9 9 21# -> *21#
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// cases are "trunk number" lines; the golden file has the results.
var outboundCases = []string{
	"e164 00441234567",    // 0 + 044 123 45 67
	"e164 0+41441234567",  // 0 + E.164
	"e164 0004930123456",  // 0 + 00 49 30 123456 (Germany)
	"e164 00016502530000", // 0 + 00 1 650... (US)
	"e164 00791234567",    // mobile
	"e164 0112",           // emergency short code: not a possible number
	"e164 0",              // nothing left after strip
	"e164 012ab",          // letters
	"e164 00",             //
	"national 0+41441234567",
	"national 0+49301234567",
	"national 00441234567",
	"prefix 0441234567",
	"plain 0441234567",
	"plain *21#",
	"e164raw 0441234567",
	"e164raw +41441234567",
	"e164raw 0041441234567",
	"e164raw 1001", // an extension: not a possible number
	"service 9921#",
	"nosuch 0441234567",
}

var inboundCases = []string{
	"pbx +41441234567",
	"pbx 0441234567",
	"pbx 0041441234567",
	"pbx +49301234567",
	"pbx +16502530000",
	"pbx 1001",
	"pbx anonymous",
	"pbx ",
	"pbx +4144",
}

func TestGolden(t *testing.T) {
	p := testPlan(t)
	var b strings.Builder
	b.WriteString("# outbound: trunk number -> result\n")
	for _, c := range outboundCases {
		trunk, number, _ := strings.Cut(c, " ")
		got, err := p.Outbound(trunk, number)
		if err != nil {
			got = "error: " + err.Error()
		}
		fmt.Fprintf(&b, "%s %q -> %s\n", trunk, number, got)
	}
	b.WriteString("# inbound (present national, outside prefix 0): trunk number -> shown\n")
	for _, c := range inboundCases {
		trunk, number, _ := strings.Cut(c, " ")
		fmt.Fprintf(&b, "%s %q -> %q\n", trunk, number, p.Inbound(trunk, number))
	}
	const golden = "testdata/numbering.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if b.String() != string(want) {
		t.Errorf("results differ from %s\ngot:\n%s\nwant:\n%s", golden, b.String(), want)
	}
}

func TestErrors(t *testing.T) {
	p := testPlan(t)
	if _, err := p.Outbound("nosuch", "1"); !errors.Is(err, ErrUnknownTrunk) {
		t.Errorf("unknown trunk: %v", err)
	}
	if _, err := p.Outbound("e164", "0"); !errors.Is(err, ErrInvalidNumber) {
		t.Errorf("too short: %v", err)
	}
	if _, err := p.Outbound("e164raw", "1001"); !errors.Is(err, ErrInvalidNumber) {
		t.Errorf("extension as e164: %v", err)
	}
}

func TestNew(t *testing.T) {
	bad := []Options{
		{Region: "XX"},
		{Present: E164},
		{Present: "local", Region: "CH"},
		{Trunks: map[string]Rule{"t": {Format: National}}},
		{Region: "CH", Trunks: map[string]Rule{"t": {Format: "intl"}}},
		{Region: "CH", Trunks: map[string]Rule{"t": {Strip: -1}}},
	}
	for _, o := range bad {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
	p, err := New(Options{Trunks: map[string]Rule{"t": {}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := p.Outbound("t", "0441234567"); got != "0441234567" {
		t.Errorf("as dialled = %q", got)
	}
	if got := p.Inbound("t", "+41441234567"); got != "+41441234567" {
		t.Errorf("as received = %q", got)
	}
}

// FuzzOutbound checks that no input panics, that E.164 output is + and
// digits, and that normalising a normalised number changes nothing.
func FuzzOutbound(f *testing.F) {
	for _, c := range outboundCases {
		_, number, _ := strings.Cut(c, " ")
		f.Add(number)
	}
	p := testPlan(f)
	f.Fuzz(func(t *testing.T, number string) {
		for _, trunk := range []string{"e164", "national", "prefix", "plain", "e164raw", "service"} {
			out, err := p.Outbound(trunk, number)
			if err != nil {
				if !errors.Is(err, ErrInvalidNumber) {
					t.Fatalf("Outbound(%s, %q): error %v is not ErrInvalidNumber", trunk, number, err)
				}
				continue
			}
			if trunk == "e164" || trunk == "e164raw" {
				if !strings.HasPrefix(out, "+") || !dialable(out) {
					t.Fatalf("Outbound(%s, %q) = %q, not E.164", trunk, number, out)
				}
				again, err := p.Outbound("e164raw", out)
				if err != nil || again != out {
					t.Fatalf("Outbound(e164raw, %q) = %q, %v; want it unchanged", out, again, err)
				}
			}
		}
		_ = p.Inbound("pbx", number)
	})
}

func TestFromConfig(t *testing.T) {
	c, err := config.Parse("n.yaml", []byte(`numbering: {region: CH, present: national, outside_prefix: "0"}
trunks:
  - {name: pbx, target: 10.0.0.5, number: {strip: 1, format: e164}}
  - {name: other, target: 10.0.0.6}
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := FromConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.Outbound("pbx", "00441234567"); err != nil || got != "+41441234567" {
		t.Errorf("Outbound(pbx) = %q, %v", got, err)
	}
	if got, err := p.Outbound("other", "00441234567"); err != nil || got != "00441234567" {
		t.Errorf("Outbound(other) = %q, %v; want as dialled", got, err)
	}
	if got := p.Inbound("pbx", "+41441234567"); got != "00441234567" {
		t.Errorf("Inbound = %q", got)
	}
}
