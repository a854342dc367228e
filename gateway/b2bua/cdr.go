package b2bua

import (
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
	"github.com/switchboard-gw/switchboard/media/relay"
)

// Who ended an answered call, for the CDR.
const (
	endedByCaller  = "caller"
	endedByCallee  = "callee"
	endedByGateway = "gateway"
)

// cdrInfo is what a call learns for its record as it goes; every field is
// under mu.
type cdrInfo struct {
	mu         sync.Mutex
	direction  cdr.Direction
	trunk      string
	target     string
	answeredBy string
	divertedTo string
	endedBy    string
	// transferredTo and attended: the last transfer carried out.
	transferredTo string
	attended      bool
}

// record builds the call's CDR. status is the setup's final status (200
// once answered); cause why it ended.
func (c *call) record(status int, cause Cause, end time.Time) cdr.Record {
	rttA, rttB := c.browserRTTs() // webrtc.go, before info.mu
	i := &c.info
	i.mu.Lock()
	defer i.mu.Unlock()
	r := cdr.Record{
		Direction:     i.direction,
		Caller:        c.callerName(),
		Callee:        c.num,
		Target:        i.target,
		Trunk:         i.trunk,
		AnsweredBy:    i.answeredBy,
		DivertedTo:    i.divertedTo,
		TransferredTo: i.transferredTo,
		Attended:      i.attended,
		Setup:         c.started,
		Answer:        c.answered,
		End:           end,
		Status:        status,
		Cause:         string(cause),
		EndedBy:       i.endedBy,
	}
	if c.a != nil {
		r.CallID = c.a.callID
		r.ID = c.a.callID + ";" + c.a.localTag
	}
	if c.media != nil {
		a, b := c.media.Stats()
		r.MediaA, r.MediaB = cdrMedia(a), cdrMedia(b)
	}
	r.MediaA.RTTMs, r.MediaB.RTTMs = rttA.Seconds()*1000, rttB.Seconds()*1000
	return r
}

func cdrMedia(s relay.Stats) cdr.Media {
	m := cdr.Media{
		Packets: s.Packets,
		Bytes:   s.Bytes,
		Jitter:  float64(s.Jitter) / float64(time.Millisecond),
		Ignored: s.Ignored,
	}
	if s.Lost > 0 {
		m.Lost = uint64(s.Lost)
	}
	return m
}

// writeCDR hands the record to Options.CDR, if set. The recorder queues
// it (the store's group-commit writer): nothing waits here.
func (c *call) writeCDR(status int, cause Cause) {
	if c.gw.o.CDR == nil {
		return
	}
	c.gw.o.CDR.Record(c.record(status, cause, time.Now()))
}

func (c *call) setEndedBy(who string) {
	c.info.mu.Lock()
	if c.info.endedBy == "" {
		c.info.endedBy = who
	}
	c.info.mu.Unlock()
}
