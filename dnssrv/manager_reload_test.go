package dnssrv

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestSetTrunks: a reload adds, changes and removes trunks; an unchanged
// trunk keeps its resolution; a bad list changes nothing; a retired
// trunk still answers for the call holding it.
func TestSetTrunks(t *testing.T) {
	z := newZone(t, pbx...)
	m, err := NewManager(ManagerOptions{
		Resolver: Options{Servers: []string{z.Addr}, IPv4Only: true},
		Trunks: []TrunkOptions{
			{Name: "pbx", Target: "sip:srv.test;transport=udp"},
			{Name: "lit", Target: "10.0.0.1:5070"},
			{Name: "gone", Target: "10.0.0.3:5060"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	m.Start(context.Background())
	defer m.Stop()
	pbxTrunk, _ := m.Trunk("pbx")
	waitFor(t, func() bool { return len(pbxTrunk.Snapshot().Targets) == 3 })
	held, _ := m.Trunk("gone") // a call in progress holds it

	ch, err := m.SetTrunks([]TrunkOptions{
		{Name: "pbx", Target: "sip:srv.test;transport=udp"},
		{Name: "lit", Target: "10.0.0.2:5070"},
		{Name: "new", Target: "10.0.0.9:5060"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ch.Added, []string{"new"}) || !slices.Equal(ch.Changed, []string{"lit"}) || !slices.Equal(ch.Removed, []string{"gone"}) {
		t.Fatalf("changes %+v", ch)
	}
	if tr, _ := m.Trunk("pbx"); tr != pbxTrunk {
		t.Error("an unchanged trunk was made afresh")
	}
	if _, err := m.Trunk("gone"); !errors.Is(err, ErrUnknownTrunk) {
		t.Errorf("removed trunk still found: %v", err)
	}
	lit, _ := m.Trunk("lit")
	waitFor(t, func() bool {
		s := lit.Snapshot()
		return len(s.Targets) == 1 && s.Targets[0].Key() == "udp:10.0.0.2:5070"
	})
	nw, _ := m.Trunk("new")
	waitFor(t, func() bool { return len(nw.Snapshot().Targets) == 1 }) // started: resolved without a Send
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if ts, err := held.Targets(ctx); err != nil || len(ts) != 1 {
		t.Fatalf("the retired trunk a call holds: %v %v", ts, err)
	}
	names := func() []string {
		var out []string
		for _, tr := range m.Trunks() {
			out = append(out, tr.Name())
		}
		return out
	}
	if got := names(); !slices.Equal(got, []string{"pbx", "lit", "new"}) {
		t.Fatalf("trunks %v", got)
	}
	if _, err := m.SetTrunks([]TrunkOptions{{Name: "pbx", Target: "sip:srv.test"}, {Name: "bad", Target: "sip:"}}); err == nil {
		t.Fatal("a bad target was taken")
	}
	if _, err := m.SetTrunks([]TrunkOptions{{Name: "a", Target: "10.0.0.1"}, {Name: "a", Target: "10.0.0.2"}}); err == nil {
		t.Fatal("a duplicate name was taken")
	}
	if got := names(); !slices.Equal(got, []string{"pbx", "lit", "new"}) {
		t.Fatalf("a refused update changed the trunks: %v", got)
	}
	if tr, _ := m.Trunk("pbx"); tr != pbxTrunk {
		t.Error("a refused update replaced a trunk")
	}
}
