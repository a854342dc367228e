package srtpmux

// OnReadBatch makes fn run on the reader each time it has handled a batch
// of datagrams (up to one recvmmsg(2) worth on Linux, one datagram
// elsewhere), and after each Handle: what the streams' callbacks held back
// during the batch (relay.InputBatch: the packets towards the phones, each
// out of its own call's socket) can then go out in one system call. nil
// removes it.
func (m *Mux) OnReadBatch(fn func()) {
	if fn == nil {
		m.readEnd.Store(nil)
		return
	}
	m.readEnd.Store(&fn)
}

// endBatch runs the OnReadBatch hook.
func (m *Mux) endBatch() {
	if fn := m.readEnd.Load(); fn != nil {
		(*fn)()
	}
}
