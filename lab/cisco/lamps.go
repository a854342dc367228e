package cisco

// Half is one user's half of a call as the server holds it: what a lamp
// must show (Xsi state and personality, XSIDataTypes.xsd CallState and
// Personality).
type Half struct {
	State, Personality string
}

// CallsAt returns ext's call halves by extTrackingId: the truth a
// client's lamps are checked against (the bench's lamp-by-lamp check).
func (s *Sim) CallsAt(ext string) map[string]Half {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Half{}
	if u := s.users[ext]; u != nil {
		for _, h := range u.halves {
			out[h.ext] = Half{State: h.state, Personality: h.personality}
		}
	}
	return out
}

// StopSkipping ends every SkipEvents still pending: events are sent
// again, each with the next sequenceNumber, so the first one after the
// skipped ones shows the gap.
func (s *Sim) StopSkipping() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.skipSeq)
}
