package app

// floodMetrics registers what bounds the gateway's state under flood: the
// SIP pools and answer cache, connection accounting and handler panics.
func (s *adminServer) floodMetrics(counter, gauge func(name, help string, f func() float64)) {
	a := s.app
	counter("sip_handler_panics_total", "SIP handler panics recovered (the transaction got 500, the process went on).",
		func() float64 { return float64(a.sip.Stats().Panics) })
	counter("http_handler_panics_total", "HTTP handler panics recovered.", func() float64 { return float64(s.panics.Load()) })
	counter("sip_overloaded_total", "SIP requests answered 503 because a worker pool or the handler limit was full.",
		func() float64 { return float64(a.sip.Stats().Overloaded) })
	gauge("sip_transactions", "SIP server transactions alive now.", func() float64 { return float64(a.sip.Stats().Transactions) })
	counter("sip_transactions_shed_total", "Refused requests whose transaction ended at once (sip.limits.max_transactions).",
		func() float64 { return float64(a.sip.Stats().Shed) })
	gauge("sip_handlers", "SIP request handlers running now.", func() float64 { return float64(a.sip.Stats().Handlers) })
	gauge("sip_workers_busy", "Stateless (UDP REGISTER) workers busy now.", func() float64 { return float64(a.sip.Stats().Workers) })
	gauge("sip_queue", "Stateless requests waiting for a worker.", func() float64 { return float64(a.sip.Stats().Queued) })
	gauge("sip_answer_cache_entries", "Entries in the stateless answer cache.", func() float64 { return float64(a.sip.Stats().CacheEntries) })
	gauge("sip_answer_cache_bytes", "Bytes in the stateless answer cache, as bounded.", func() float64 { return float64(a.sip.Stats().CacheBytes) })
	counter("sip_answer_cache_skipped_total", "Answers not remembered because the cache was full.",
		func() float64 { return float64(a.sip.Stats().CacheSkipped) })
	gauge("sip_connections", "TCP, TLS and WebSocket connections open.", func() float64 { return float64(a.guard.Stats().Conns) })
	counter("sip_connections_refused_total", "Connections refused at accept (banned, per-source or global limit).",
		func() float64 { return float64(a.guard.Stats().ConnsRefused) })
	counter("sip_connections_timed_out_total", "Connections closed for idleness or slow-loris.",
		func() float64 { return float64(a.guard.Stats().TimedOut) })
}
