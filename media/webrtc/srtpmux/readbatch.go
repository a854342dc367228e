package srtpmux

// OnReadBatch makes fn run on each reader each time it has handled a
// batch of datagrams (up to one recvmmsg(2) worth on Linux, one datagram
// elsewhere), with the reader's number (0 … Readers()-1), and after each
// Handle (reader 0): what the streams' callbacks held back during the
// batch (relay.InputBatch: the packets towards the phones, each out of its
// own call's socket), one holder per reader, can then go out in one system
// call. nil removes it.
func (m *Mux) OnReadBatch(fn func(reader int)) {
	if fn == nil {
		m.readEnd.Store(nil)
		return
	}
	m.readEnd.Store(&fn)
}

// endBatch runs the OnReadBatch hook of reader.
func (m *Mux) endBatch(reader int) {
	if fn := m.readEnd.Load(); fn != nil {
		(*fn)(reader)
	}
}
