//go:build !linux || relaygoroutines

package relay

import (
	"net/netip"

	"github.com/switchboard-gw/switchboard/media/udpbatch"
)

// InputBatch: see NewInputBatch. The portable I/O engine sends at once.
type InputBatch struct{}

func newInputBatch() *InputBatch { return &InputBatch{} }

func (b *InputBatch) add(s *Session, k *sock, pkt []byte, to netip.AddrPort) bool {
	return s.relay.sendFrom(s, k, pkt, to)
}

// Flush sends what b holds: nothing here.
func (b *InputBatch) Flush() {}

// Close ends b.
func (b *InputBatch) Close() {}

// Counters are b's totals: none here.
func (b *InputBatch) Counters() udpbatch.Counters { return udpbatch.Counters{} }

// Ring reports whether b sends through io_uring: never here.
func (b *InputBatch) Ring() bool { return false }
