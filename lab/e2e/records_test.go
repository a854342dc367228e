package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
	"github.com/switchboard-gw/switchboard/gateway/store/sqlite"
	"github.com/switchboard-gw/switchboard/lab/pbx"
)

// callsPage is GET /api/v1/history.
type callsPage struct {
	Calls []struct {
		ID        string  `json:"id"`
		Caller    string  `json:"caller"`
		Callee    string  `json:"callee"`
		Cause     string  `json:"cause"`
		DurationS float64 `json:"duration_s"`
	} `json:"calls"`
	Next string `json:"next"`
}

func (g *gateway) calls(query string) callsPage {
	g.t.Helper()
	code, body := g.api("GET", "/api/v1/history?"+query)
	if code != http.StatusOK {
		g.t.Fatalf("GET /api/v1/history?%s = %d %s", query, code, body)
	}
	var p callsPage
	if err := json.Unmarshal(body, &p); err != nil {
		g.t.Fatalf("calls: %v: %s", err, body)
	}
	return p
}

// metric reads one unlabelled counter or gauge from /metrics.
func (g *gateway) metric(name string) float64 {
	g.t.Helper()
	_, body := g.api("GET", "/metrics")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		g.t.Fatalf("metric %s missing", name)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		g.t.Fatal(err)
	}
	return v
}

// TestCallHistoryRetention seeds the gateway's database with records old
// and new (as the B2BUA would have written them), restarts it so the
// retention job runs at start, and reads the history through the admin
// API, paged, per user (name and extension).
func TestCallHistoryRetention(t *testing.T) {
	g := startGateway(t, `records: {retention_days: 10}
users:
  - {username: alice, password: secret, extension: "1001"}
  - {username: bob, password: secret, extension: "1002"}
`)
	if p := g.calls("user=alice"); len(p.Calls) != 0 || p.Next != "" {
		t.Fatalf("history before any call: %+v", p)
	}

	// The gateway has the file open; SQLite in WAL mode lets a second
	// process write to it.
	st, err := sqlite.Open(t.Context(), filepath.Join(g.dataDir, "switchboard.db"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	var recs []cdr.Record
	add := func(id, caller, callee string, age time.Duration) {
		setup := now.Add(-age)
		recs = append(recs, cdr.Record{ID: id, CallID: id, Direction: cdr.Local, Caller: caller, Callee: callee,
			Setup: setup, Answer: setup.Add(time.Second), End: setup.Add(31 * time.Second), Status: 200, Cause: "normal"})
	}
	add("old", "alice", "1002", 11*24*time.Hour) // past retention
	for i := range 5 {
		add(fmt.Sprintf("new%d", i), "alice", "1002", time.Duration(5-i)*time.Minute)
	}
	add("in", "bob", "1001", time.Minute/2) // bob calls alice's extension
	if err := st.AddRecords(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	st.Close()

	g.restart()
	g.waitLog(`msg="deleted old call records" count=1`, 10*time.Second)
	if got := g.metric("switchboard_call_records_deleted_total"); got != 1 {
		t.Errorf("deleted_total = %v, want 1", got)
	}

	// alice: as caller (new0..new4) and callee through her extension (in).
	var got []string
	next := ""
	for range 5 {
		q := "user=alice&limit=4"
		if next != "" {
			q += "&before=" + url.QueryEscape(next)
		}
		p := g.calls(q)
		for _, c := range p.Calls {
			got = append(got, c.ID)
			if c.DurationS != 30 {
				t.Errorf("call %s duration %v, want 30", c.ID, c.DurationS)
			}
		}
		if next = p.Next; next == "" {
			break
		}
	}
	if want := "in new4 new3 new2 new1 new0"; strings.Join(got, " ") != want {
		t.Errorf("alice's history %v, want %s", got, want)
	}
	if p := g.calls("user=bob"); len(p.Calls) != 6 { // bob is callee (1002) of alice's calls
		t.Errorf("bob's history: %d calls, want 6", len(p.Calls))
	}
	for _, bad := range []string{"limit=0", "limit=x", "before=yesterday"} {
		if code, body := g.api("GET", "/api/v1/history?"+bad); code != http.StatusBadRequest {
			t.Errorf("GET /api/v1/history?%s = %d %s, want 400", bad, code, body)
		}
	}
	for _, m := range []string{"switchboard_call_records_written_total", "switchboard_call_records_dropped_total"} {
		if v := g.metric(m); v != 0 {
			t.Errorf("%s = %v, want 0", m, v)
		}
	}
}

// TestCallRecordNumbering: a number dialled with the outside line 0 in
// national form reaches the trunk in E.164 (numbering.region CH,
// trunks[].number {strip: 1, format: e164}); the record keeps both.
// A number that cannot be normalised gets 484.
func TestCallRecordNumbering(t *testing.T) {
	sim := startPBX(t, pbx.Options{})
	g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
numbering: {region: CH}
trunks:
  - name: pbx
    target: sip:%s
    probe: {interval: 0s}
    match: ["0x"]
    number: {strip: 1, format: e164}
`, sim.Addr()))
	ph := newPhone(t)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	s, err := call(ctx, ph, g.UDP, "00441234567", phoneSDP)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitAnswer(ctx, answerOpts()); err != nil {
		t.Fatalf("call: %v\n%s", err, g.log.String())
	}
	if err := s.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	if in := sim.Calls(); len(in) != 1 || in[0].To != "+41441234567" {
		t.Fatalf("PBX saw %+v, want a call to +41441234567", in)
	}
	var p struct {
		Calls []struct {
			Callee string `json:"callee"`
			Target string `json:"target"`
		} `json:"calls"`
	}
	waitUntil(t, 10*time.Second, "the call record", func() bool {
		_, body := g.api("GET", "/api/v1/history?user=u1000")
		return json.Unmarshal(body, &p) == nil && len(p.Calls) == 1
	})
	if c := p.Calls[0]; c.Callee != "00441234567" || c.Target != "+41441234567" {
		t.Errorf("record callee %q target %q, want 00441234567 and +41441234567", c.Callee, c.Target)
	}

	s, err = call(ctx, ph, g.UDP, "0112", phoneSDP) // 112 is no E.164 number
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitAnswer(ctx, answerOpts()); responseCode(err) != 484 {
		t.Errorf("call to 0112: %v, want 484", err)
	}
}
