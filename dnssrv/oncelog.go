package dnssrv

import (
	"log/slog"
	"strings"
	"sync"
	"time"
)

// onceLogEvery is how often the same name is logged again by onceLog.
const onceLogEvery = 10 * time.Minute

// onceLogMax bounds the names onceLog remembers.
const onceLogMax = 1024

// onceLog logs that a name's NAPTR lookup failed at most once per name per
// onceLogEvery: a broken DNS server is asked for every call, and one line
// per call would drown the log.
type onceLog struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// note logs err for name unless it was logged within onceLogEvery.
func (o *onceLog) note(name string, err error, now time.Time, log *slog.Logger) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	o.mu.Lock()
	if o.seen == nil {
		o.seen = map[string]time.Time{}
	}
	if last, ok := o.seen[name]; ok && now.Sub(last) < onceLogEvery {
		o.mu.Unlock()
		return
	}
	if len(o.seen) >= onceLogMax {
		clear(o.seen)
	}
	o.seen[name] = now
	o.mu.Unlock()
	log.Warn("NAPTR lookup failed: using SRV, then A/AAAA (RFC 3263 §4.1)",
		"name", name, "error", err)
}
