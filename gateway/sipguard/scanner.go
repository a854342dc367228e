package sipguard

import (
	"bytes"
	"net/netip"
	"strings"
)

// DefaultScannerAgents are User-Agent substrings of SIP scanning and
// password-cracking tools seen in the wild (SIPVicious and its
// "friendly-scanner" default, sipcli, sip-scan/SIPScan, VaxSIPUserAgent,
// iWar, sundayddr, SIVuS, pplsip), as operators' blocklists and honeypot
// reports name them. Matched case-insensitively, so each is specific
// enough not to hit a real phone ("sipcli/", not "sipcli", which
// "MySIPClient" contains).
var DefaultScannerAgents = []string{
	"friendly-scanner", "sipvicious", "sipcli/", "sip-scan", "sipscan",
	"vaxsipuseragent", "iwar", "sundayddr", "sivus", "pplsip",
}

// scannerAgents matches User-Agent values against a list of substrings.
type scannerAgents [][]byte

func newScannerAgents(list []string) scannerAgents {
	var s scannerAgents
	for _, a := range list {
		if a = strings.TrimSpace(a); a != "" {
			s = append(s, []byte(strings.ToLower(a)))
		}
	}
	return s
}

// match reports whether a User-Agent header in the header section of msg
// contains one of the substrings. It looks at header lines only (up to
// the first empty line), lower-casing each User-Agent value in a small
// stack buffer.
func (s scannerAgents) match(msg []byte) bool {
	if len(s) == 0 {
		return false
	}
	if end := bytes.Index(msg, []byte("\r\n\r\n")); end >= 0 {
		msg = msg[:end]
	}
	const name = "user-agent"
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, msg = msg[:i], msg[i+1:]
		} else {
			msg = nil
		}
		if len(line) <= len(name) || !bytes.EqualFold(line[:len(name)], []byte(name)) {
			continue
		}
		v := bytes.TrimLeft(line[len(name):], " \t")
		if len(v) == 0 || v[0] != ':' {
			continue
		}
		var buf [256]byte
		low := buf[:0]
		for _, c := range v[1:min(len(v), 257)] {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			low = append(low, c)
		}
		for _, a := range s {
			if bytes.Contains(low, a) {
				return true
			}
		}
	}
	return false
}

// screenAgent drops a request from a known scanner (Options.ScannerAgents).
// Over a stream the source address is proven by the connection, so it is
// banned at once; over UDP it may be forged, so the datagram is dropped
// unanswered (the scanner learns nothing) without banning anyone. It
// reports whether the message may go on.
func (g *Guard) screenAgent(msg []byte, ip netip.Addr, stream bool) bool {
	if !g.scanners.match(msg) || g.neverBan(ip) {
		return true
	}
	g.c.scanners.Add(1)
	if stream {
		g.Ban(ip, g.ban.Load().duration, "scanner user-agent")
	}
	return false
}
