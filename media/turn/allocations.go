package turn

import (
	"net"
	"sort"
	"sync"
	"time"
)

// Allocation is one live allocation, as the admin API lists it.
type Allocation struct {
	User            string    `json:"user"`
	Realm           string    `json:"realm"`
	Client          string    `json:"client"`    // the client's transport address as seen here
	Server          string    `json:"server"`    // the listener it came in on
	Transport       string    `json:"transport"` // client ↔ server: UDP, TCP (TLS is TCP)
	Relay           string    `json:"relay"`     // the relayed transport address
	Created         time.Time `json:"created"`
	Permissions     int       `json:"permissions"`
	Channels        int       `json:"channels"`
	BytesToPeer     uint64    `json:"bytes_to_peer"`
	BytesFromPeer   uint64    `json:"bytes_from_peer"`
	PacketsToPeer   uint64    `json:"packets_to_peer"`
	PacketsFromPeer uint64    `json:"packets_from_peer"`
	DroppedOverCap  uint64    `json:"dropped_over_cap"` // packets over the bandwidth cap
}

// allocTable tracks live allocations from pion's events: the quotas read
// it, the admin API lists it.
type allocTable struct {
	mu      sync.Mutex
	byKey   map[string]*allocEntry
	perUser map[string]int
	pending map[string]*relayConn // relay address → conn, until the allocation is reported
}

type allocEntry struct {
	a    Allocation
	conn *relayConn // nil for TCP (RFC 6062) relays
}

func newAllocTable() *allocTable {
	return &allocTable{byKey: map[string]*allocEntry{}, perUser: map[string]int{}, pending: map[string]*relayConn{}}
}

func allocKey(proto string, src, dst net.Addr) string {
	return proto + "|" + src.String() + "|" + dst.String()
}

// admit reports whether user may have one more allocation: fewer than
// perUser of their own (0: no limit) and fewer than total in all.
func (t *allocTable) admit(user string, perUser, total int) (ok bool, why string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if total > 0 && len(t.byKey) >= total {
		return false, "total"
	}
	if perUser > 0 && t.perUser[user] >= perUser {
		return false, "user"
	}
	return true, ""
}

func (t *allocTable) attachConn(relay string, c *relayConn) {
	t.mu.Lock()
	t.pending[relay] = c
	t.mu.Unlock()
}

func (t *allocTable) created(src, dst net.Addr, proto, user, realm string, relay net.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := &allocEntry{a: Allocation{User: user, Realm: realm, Client: src.String(), Server: dst.String(),
		Transport: proto, Relay: relay.String(), Created: time.Now()}}
	if c, ok := t.pending[relay.String()]; ok {
		e.conn = c
		delete(t.pending, relay.String())
	}
	k := allocKey(proto, src, dst)
	if _, dup := t.byKey[k]; !dup {
		t.perUser[user]++
	}
	t.byKey[k] = e
}

func (t *allocTable) deleted(src, dst net.Addr, proto, user string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := allocKey(proto, src, dst)
	if _, ok := t.byKey[k]; !ok {
		return false
	}
	delete(t.byKey, k)
	if t.perUser[user]--; t.perUser[user] <= 0 {
		delete(t.perUser, user)
	}
	return true
}

// adjust adds d to the permission or channel count of an allocation.
func (t *allocTable) adjust(src, dst net.Addr, proto string, perms, chans int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.byKey[allocKey(proto, src, dst)]; ok {
		e.a.Permissions = max(0, e.a.Permissions+perms)
		e.a.Channels = max(0, e.a.Channels+chans)
	}
}

// dropPending forgets a relay socket pion closed before reporting its
// allocation (the Allocate failed after the socket was made).
func (t *allocTable) dropPending(c *relayConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, v := range t.pending {
		if v == c {
			delete(t.pending, k)
		}
	}
}

func (t *allocTable) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byKey)
}

// list returns the live allocations, oldest first.
func (t *allocTable) list() []Allocation {
	t.mu.Lock()
	out := make([]Allocation, 0, len(t.byKey))
	for _, e := range t.byKey {
		a := e.a
		if c := e.conn; c != nil {
			a.BytesToPeer, a.BytesFromPeer = c.bytesOut.Load(), c.bytesIn.Load()
			a.PacketsToPeer, a.PacketsFromPeer = c.packetsOut.Load(), c.packetsIn.Load()
			a.DroppedOverCap = c.droppedRate.Load()
		}
		out = append(out, a)
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].Client < out[j].Client
	})
	return out
}
