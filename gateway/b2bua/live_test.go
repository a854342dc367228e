package b2bua

import (
	"sync"
	"testing"
	"time"
)

// TestSetLive: a reload's settings replace Options' for what follows, and
// may be set while other goroutines read them (-race).
func TestSetLive(t *testing.T) {
	b := newTestB2BUA(Options{SessionExpires: 1800 * time.Second, MinSE: 90 * time.Second,
		TrunkSettings: map[string]TrunkSettings{"pbx": {Domain: "old.example"}}})
	defer b.Close()
	if tc := b.timerConf(); tc.se != 1800*time.Second || tc.minSE != 90*time.Second {
		t.Fatalf("before: %+v", tc)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				_ = b.timerConf()
				_ = b.trunkSettings("pbx")
			}
		}
	})
	b.SetLive(Live{SessionExpires: 600 * time.Second, MinSE: 120 * time.Second,
		TrunkSettings: map[string]TrunkSettings{"pbx": {Domain: "new.example"}}, Pickup: true})
	close(stop)
	wg.Wait()
	if tc := b.timerConf(); tc.se != 600*time.Second || tc.minSE != 120*time.Second {
		t.Fatalf("after: %+v", tc)
	}
	if d := b.trunkSettings("pbx").Domain; d != "new.example" {
		t.Fatalf("trunk domain after: %q", d)
	}
	if !b.live().Pickup {
		t.Fatal("pickup not live")
	}
}
