package e2e

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// reMetricName finds the metric names a PromQL expression uses (ours, the
// process and Go collectors').
var reMetricName = regexp.MustCompile(`\b(?:switchboard|process|go)_[a-z0-9_]+\b`)

// TestGrafanaDashboardMetrics: every metric deploy/grafana/switchboard.json
// queries is served on /metrics by a running gateway with a trunk (with
// registration), a CTI driver, TURN and the HEP mirror configured, and
// every panel's query names at least one.
func TestGrafanaDashboardMetrics(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "deploy", "grafana", "switchboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	want := map[string][]string{} // metric -> panels
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			names := reMetricName.FindAllString(tg.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: query %q names no metric", p.Title, tg.Expr)
			}
			for _, n := range names {
				want[n] = append(want[n], p.Title)
			}
		}
	}

	hepPort := freeUDPPort(t, "127.0.0.1")
	g := startGateway(t, `trunks:
  - name: pbx
    target: sip:127.0.0.2:9
    probe: {interval: 0s}
    match: ["2000"]
    register: {user: sb-trunk, password: trunk-pw}
cti:
  drivers:
    - name: pbx1
      driver: mitel
      config: {address: "127.0.0.1:9", user: csta, password: secret}
turn:
  listen: [udp://127.0.0.1:0]
  relay_address: 127.0.0.1
  port_min: 0
  port_max: 0
hep: {enabled: true, collector: "udp://127.0.0.1:`+itoa(hepPort)+`"}
`)
	have := map[string]bool{}
	var body string
	for deadline := time.Now().Add(20 * time.Second); ; {
		res, err := httpClient.Get("https://" + g.HTTP + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		body = string(b)
		for _, l := range strings.Split(body, "\n") {
			if f := strings.Fields(l); len(f) >= 4 && f[0] == "#" && f[1] == "TYPE" {
				have[f[2]] = true
				if f[3] == "histogram" {
					for _, s := range []string{"_bucket", "_sum", "_count"} {
						have[f[2]+s] = true
					}
				}
			}
		}
		missing := 0
		for n := range want {
			if !have[n] {
				missing++
			}
		}
		// Collectors of trunks and drivers report once they have run.
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	var missing []string
	for n, panels := range want {
		if !have[n] {
			missing = append(missing, n+" (panel "+strings.Join(panels, ", ")+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("the dashboard queries metrics /metrics does not have:\n%s", strings.Join(missing, "\n"))
	}
	t.Logf("dashboard %q: %d panels, %d metrics, all served", dash.Title, len(dash.Panels), len(want))
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
