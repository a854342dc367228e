package config

import (
	"net"
	"net/url"
	"strconv"
)

// Ladder configures the per-call SIP ladder: the SIP messages of the last
// calls kept in memory for the admin API (GET /api/v1/ladders) and its
// PCAP export.
type Ladder struct {
	// Enabled keeps the ladders. Default: true.
	Enabled bool `yaml:"enabled"`
	// Calls is the most calls kept; the oldest goes first. 1 to 100000.
	// Default: 200.
	Calls int `yaml:"calls"`
	// MaxBytes bounds the message bytes kept over all calls, 1 MiB to
	// 4 GiB. Default: 33554432 (32 MiB).
	MaxBytes int `yaml:"max_bytes"`
	// MessagesPerCall is the most messages kept per call (the first half
	// and the latest); those in between are counted as omitted. 10 to
	// 100000. Default: 400.
	MessagesPerCall int `yaml:"messages_per_call"`
}

// HEP configures mirroring every SIP message to a Homer collector in
// HEP version 3.
type HEP struct {
	// Enabled turns the mirror on. Default: false.
	Enabled bool `yaml:"enabled"`
	// Collector is the collector as udp://host:port. Required when
	// enabled.
	Collector string `yaml:"collector"`
	// ID is the capture agent ID sent with every packet, 0 to 4294967295.
	// Default: 0.
	ID int `yaml:"id"`
	// Password is the authentication key sent with every packet, if set.
	// Default: none.
	Password string `yaml:"password"`
	// Queue is how many messages may wait to be sent; beyond it they are
	// dropped (switchboard_hep_dropped_total), so a slow collector never
	// slows calls. 1 to 1000000. Default: 4096.
	Queue int `yaml:"queue"`
}

func defaultLadder() Ladder {
	return Ladder{Enabled: true, Calls: 200, MaxBytes: 32 << 20, MessagesPerCall: 400}
}

func defaultHEP() HEP { return HEP{Queue: 4096} }

// HEPCollector returns hep.collector as host:port.
func (h HEP) HEPCollector() (string, bool) {
	u, err := url.Parse(h.Collector)
	if err != nil || u.Scheme != "udp" || u.Host == "" || u.Port() == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return "", false
	}
	if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 {
		return "", false
	}
	if host := u.Hostname(); net.ParseIP(host) == nil && !validHost(host) {
		return "", false
	}
	return u.Host, true
}

func (d *decoder) validateObserve(c *Config) {
	l := &c.Ladder
	if l.Calls < 1 || l.Calls > 100_000 {
		d.errorf("ladder.calls", "%d is out of range: must be from 1 to 100000", l.Calls)
	}
	if l.MaxBytes < 1<<20 || l.MaxBytes > 4<<30 {
		d.errorf("ladder.max_bytes", "%d is out of range: must be from 1048576 (1 MiB) to 4294967296 (4 GiB)", l.MaxBytes)
	}
	if l.MessagesPerCall < 10 || l.MessagesPerCall > 100_000 {
		d.errorf("ladder.messages_per_call", "%d is out of range: must be from 10 to 100000", l.MessagesPerCall)
	}
	h := &c.HEP
	if _, ok := h.HEPCollector(); !ok && (h.Enabled || h.Collector != "") {
		d.errorf("hep.collector", "%q is not a collector: use udp://host:port", h.Collector)
	}
	if h.ID < 0 || h.ID > 1<<32-1 {
		d.errorf("hep.id", "%d is out of range: must be from 0 to 4294967295", h.ID)
	}
	if h.Queue < 1 || h.Queue > 1_000_000 {
		d.errorf("hep.queue", "%d is out of range: must be from 1 to 1000000", h.Queue)
	}
}
