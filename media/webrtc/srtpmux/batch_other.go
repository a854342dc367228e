//go:build !linux

package srtpmux

import "syscall"

// batchSys is empty where there is no sendmmsg(2).
type batchSys struct{}

// sendBatch sends b's packets one write each.
func (m *Mux) sendBatch(b *sendBatch) int {
	sent := 0
	for i := range b.n {
		if m.send(b.pkts[i], b.to[i]) == nil {
			sent++
		}
	}
	return sent
}

func isInet6(syscall.RawConn) bool { return false }
