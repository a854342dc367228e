//go:build !linux

package srtpmux

// read is the portable reader.
func (m *Mux) read() {
	defer m.wg.Done()
	m.readOne()
}
