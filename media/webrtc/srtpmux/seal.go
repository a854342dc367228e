package srtpmux

import "net/netip"

// Seal encrypts the RTP packet pkt as Send does (SRTP, RFC 3711 §3.3, with
// the association's keys), appending the SRTP packet to dst[:0], and
// returns it with the peer's address instead of sending it: for a caller
// that sends many streams' packets with system calls of its own (a load
// generator playing many browsers, each on its own socket, with
// media/udpbatch). The packet counts as sent. It fails with ErrNotArmed
// when the fast path cannot send yet. dst needs room for pkt and the
// SRTP trailer (len(pkt)+32) to avoid an allocation; it may be pkt.
func (s *Stream) Seal(dst, pkt []byte) ([]byte, netip.AddrPort, error) {
	s.mu.Lock()
	to, ok := s.remote, s.armed
	s.mu.Unlock()
	if !ok || !to.IsValid() {
		return nil, to, ErrNotArmed
	}
	s.txMu.Lock()
	if s.tx == nil {
		s.txMu.Unlock()
		return nil, to, ErrNotArmed
	}
	out, err := s.tx.EncryptRTP(dst[:0], pkt, &s.txHdr)
	s.txMu.Unlock()
	if err != nil {
		return nil, to, err
	}
	s.out.Add(1)
	return out, to, nil
}
