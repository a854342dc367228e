package cisco

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard-gw/switchboard/lab/cisco/xsiwire"
)

// directory answers GET user/<id>/directories/Enterprise (XSIDirectories.xsd
// Enterprise): the users of the enterprise, sorted by extension, paged by
// the start (1-based) and results query parameters. Names come from
// Config.Names, split at the last space into first and last name. Called
// with s.mu held.
func (s *Sim) directory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start, results := 1, 50
	if v := q.Get("start"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, 110400, "start must be a positive integer")
			return
		}
		start = n
	}
	if v := q.Get("results"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, 110400, "results must be 1 to 1000")
			return
		}
		results = n
	}
	exts := make([]string, 0, len(s.users))
	for ext := range s.users {
		exts = append(exts, ext)
	}
	slices.Sort(exts)
	out := xsiwire.EnterpriseDirectory{StartIndex: start, TotalAvailableRecords: len(exts)}
	for i := start - 1; i >= 0 && i < len(exts) && len(out.Entries) < results; i++ {
		u := s.users[exts[i]]
		first, last := "", u.name
		if sp := strings.LastIndexByte(u.name, ' '); sp > 0 {
			first, last = u.name[:sp], u.name[sp+1:]
		}
		out.Entries = append(out.Entries, xsiwire.DirectoryDetails{UserID: u.id, FirstName: first, LastName: last,
			Extension: u.ext})
	}
	out.NumberOfRecords = len(out.Entries)
	writeXML(w, http.StatusOK, out)
}

// SetNewMessages sets ext's count of new voice mail messages and tells
// its "Voice Mail Message Summary" subscriptions
// (VoiceMailMessageSummaryEvent).
func (s *Sim) SetNewMessages(ext string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[ext]
	if u == nil {
		return
	}
	s.emit(u, &xsiwire.EventData{Type: xsiwire.TypeVoiceMailMessageSummaryEvent,
		Summary: &xsiwire.MessageSummary{NewMessages: n}})
}

// Incoming rings ext with a call from the public network (number): a
// Terminator half whose remoteParty is the number, callType Network.
func (s *Sim) Incoming(number, ext string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.users[ext]
	if t == nil {
		return
	}
	h := s.newHalf(t, s.id("")+":1", xsiwire.PersonalityTerminator)
	h.remote, h.remoteName = number, s.cfg.NetworkNames[number]
	s.event(xsiwire.TypeCallReceivedEvent, h)
}
