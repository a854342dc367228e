package config

import "time"

// Limits bound what the SIP side holds and runs under load, so that a
// flood costs bounded memory and goroutines: what does not fit is refused
// (503 with Retry-After, RFC 3261 §21.5.4, or a closed connection) instead
// of queued.
type Limits struct {
	// Workers is the fixed pool answering REGISTER over UDP. Default: 256.
	Workers int `yaml:"workers"`

	// Queue is how many UDP REGISTERs may wait for a worker; further ones
	// get 503 with Retry-After. Default: 4096.
	Queue int `yaml:"queue"`

	// MaxHandlers bounds the SIP requests being handled at once (a call's
	// INVITE counts for the call's life); further requests get 503 with
	// Retry-After. Default: 8192.
	MaxHandlers int `yaml:"max_handlers"`

	// MaxTransactions is how many SIP server transactions may be alive
	// before refused requests (final response 300 or above) stop being
	// kept for their retransmission timers (up to 32 s) and end as soon as
	// the answer is sent; a retransmission is then refused anew.
	// Default: 10000.
	MaxTransactions int `yaml:"max_transactions"`

	// AnswerCacheEntries and AnswerCacheBytes bound the answers kept to
	// replay to REGISTER retransmissions (RFC 3261 §17.2.2). Defaults:
	// 65536 and 33554432 (32 MiB).
	AnswerCacheEntries int `yaml:"answer_cache_entries"`
	AnswerCacheBytes   int `yaml:"answer_cache_bytes"`

	// RetryAfter is the Retry-After of those 503s, whole seconds, at least
	// 1s. Default: 5s.
	RetryAfter Duration `yaml:"retry_after"`

	// MaxConnections bounds the TCP, TLS and WebSocket connections open at
	// once, over all sources; security.exempt_sources are counted but
	// never refused. Default: 10000.
	MaxConnections int `yaml:"max_connections"`

	// MaxConnectionsPerIP bounds them per source address. Default: 256.
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`

	// UnprovenIdleTimeout closes a connection idle this long that has not
	// yet carried a successful REGISTER or INVITE (scanners, half-done
	// clients); proven flows keep sip's two-hour limit, which RFC 5626
	// keepalives renew. Default: 2m.
	UnprovenIdleTimeout Duration `yaml:"unproven_idle_timeout"`
}

func defaultLimits() Limits {
	return Limits{
		Workers: 256, Queue: 4096, MaxHandlers: 8192, MaxTransactions: 10000,
		AnswerCacheEntries: 65536, AnswerCacheBytes: 32 << 20,
		RetryAfter:     Duration(5 * time.Second),
		MaxConnections: 10000, MaxConnectionsPerIP: 256,
		UnprovenIdleTimeout: Duration(2 * time.Minute),
	}
}

func (d *decoder) validateLimits(l *Limits) {
	for _, f := range []struct {
		key string
		v   int
	}{
		{"workers", l.Workers}, {"queue", l.Queue}, {"max_handlers", l.MaxHandlers}, {"max_transactions", l.MaxTransactions},
		{"answer_cache_entries", l.AnswerCacheEntries}, {"answer_cache_bytes", l.AnswerCacheBytes},
		{"max_connections", l.MaxConnections}, {"max_connections_per_ip", l.MaxConnectionsPerIP},
	} {
		if f.v < 1 {
			d.errorf("sip.limits."+f.key, "%d must be at least 1", f.v)
		}
	}
	if l.RetryAfter.D() < time.Second || l.RetryAfter.D()%time.Second != 0 {
		d.errorf("sip.limits.retry_after", "%s must be whole seconds, at least 1s", l.RetryAfter)
	}
	if l.UnprovenIdleTimeout <= 0 {
		d.errorf("sip.limits.unproven_idle_timeout", "%s must be more than 0", l.UnprovenIdleTimeout)
	}
}
