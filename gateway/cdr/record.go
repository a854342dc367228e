// Package cdr holds call detail records: the record the B2BUA writes when a
// call ends, and the per-user call history kept for a configured number of
// days (seed 004: "Delete data older than").
package cdr

import "time"

// Direction says which way a call went through the gateway.
type Direction string

// Directions.
const (
	// Local is a call between two users registered to the gateway.
	Local Direction = "local"
	// Outbound is a call from a registered user to a trunk (the PBX).
	Outbound Direction = "outbound"
	// Inbound is a call from a trunk to a registered user.
	Inbound Direction = "inbound"
)

// Media is one direction's RTP counters as the relay saw them
// (RFC 3550 §6.4.1 for loss and jitter).
type Media struct {
	Packets uint64  `json:"packets"`
	Bytes   uint64  `json:"bytes"`
	Lost    uint64  `json:"lost"`
	Jitter  float64 `json:"jitter_ms"`
	Ignored uint64  `json:"ignored"`
	// RTTMs is the last round trip to a browser on this side, measured
	// by the WebRTC bridge from the browser's RTCP reception reports
	// (RFC 3550 §6.4.1); 0 for a plain RTP leg or before a measurement.
	RTTMs float64 `json:"rtt_ms,omitempty"`
}

// Record is one call, written once when the call ends.
type Record struct {
	// ID is unique per record (the A leg's Call-ID plus our tag).
	ID string `json:"id"`
	// CallID is the caller's Call-ID.
	CallID    string    `json:"call_id"`
	Direction Direction `json:"direction"`
	// Caller is the calling user (registered username) or, inbound, the
	// number the trunk presented.
	Caller string `json:"caller"`
	// Callee is the dialled number as received; Target is what was
	// finally called (after normalisation or diversion).
	Callee string `json:"callee"`
	Target string `json:"target,omitempty"`
	// Trunk names the trunk the call used, if any.
	Trunk string `json:"trunk,omitempty"`
	// AnsweredBy is the user (or contact) that answered a local call.
	AnsweredBy string `json:"answered_by,omitempty"`
	// DivertedTo is set when the call was diverted (busy/no answer).
	DivertedTo string `json:"diverted_to,omitempty"`
	// TransferredTo is the party a transfer (REFER, RFC 3515) connected
	// in place of the transferor, last one first if several; Attended
	// tells whether it joined another call (RFC 3891 Replaces).
	TransferredTo string `json:"transferred_to,omitempty"`
	Attended      bool   `json:"attended,omitempty"`

	Setup  time.Time `json:"setup"`
	Answer time.Time `json:"answer,omitzero"`
	End    time.Time `json:"end"`

	// Status is the final SIP status of the call setup (200 when answered).
	Status int `json:"status"`
	// Cause is why the call ended (b2bua causes: normal, busy, ...).
	Cause string `json:"cause"`
	// EndedBy says which side ended an answered call: caller, callee,
	// gateway.
	EndedBy string `json:"ended_by,omitempty"`

	// MediaA is what the relay received from the caller's side, MediaB
	// from the callee's side.
	MediaA Media `json:"media_a"`
	MediaB Media `json:"media_b"`
}

// Duration is the talk time: from answer to end, zero if never answered.
func (r Record) Duration() time.Duration {
	if r.Answer.IsZero() || r.End.Before(r.Answer) {
		return 0
	}
	return r.End.Sub(r.Answer)
}

// Recorder takes records as calls end. Implementations must not block the
// caller for long (the store's group-commit writer queues them).
type Recorder interface {
	Record(r Record)
}
