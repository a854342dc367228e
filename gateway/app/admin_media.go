package app

import (
	"net/http"
	"net/netip"
	"sort"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/attendant"
	"github.com/switchboard-gw/switchboard/gateway/b2bua"
)

// Live media statistics of the active calls: GET /api/v1/media/calls
// (admin), what the admin UI's calls page polls. The figures are the
// relay's (media/relay Side.Live) through the B2BUA (b2bua.Media).

// callMediaView is one answered call's media.
type callMediaView struct {
	// ID is the call's northbound ID, gateway:<id>, as GET /api/v1/calls
	// lists it.
	ID       string         `json:"id"`
	Answered time.Time      `json:"answered"`
	Legs     []legMediaView `json:"legs"` // A (the caller's) then B
}

// legMediaView is one leg: in is what its far end sent, out what the
// relay sent it.
type legMediaView struct {
	Leg         string           `json:"leg"` // "a" or "b"
	Party       b2bua.CallParty  `json:"party"`
	SIPCallID   string           `json:"sip_call_id"`
	Codec       string           `json:"codec,omitempty"`
	PayloadType *int             `json:"payload_type,omitempty"`
	Local       string           `json:"local"`
	Remote      string           `json:"remote,omitempty"`
	Latched     string           `json:"latched,omitempty"`
	SendTo      string           `json:"send_to,omitempty"`
	PacketsIn   uint64           `json:"packets_in"`
	BytesIn     uint64           `json:"bytes_in"`
	PacketsOut  uint64           `json:"packets_out"`
	BytesOut    uint64           `json:"bytes_out"`
	Expected    uint64           `json:"expected"`
	Lost        int64            `json:"lost"`
	LossRatio   float64          `json:"loss_ratio"`
	JitterMS    float64          `json:"jitter_ms"`
	LastPacket  *time.Time       `json:"last_packet,omitempty"`
	LastAgeMS   *int64           `json:"last_packet_age_ms,omitempty"`
	WebRTC      *webrtcMediaView `json:"webrtc,omitempty"`
}

// webrtcMediaView is a browser leg's ICE/DTLS state.
type webrtcMediaView struct {
	State       string     `json:"state"` // connecting, connected, closed
	Since       *time.Time `json:"since,omitempty"`
	Error       string     `json:"error,omitempty"`
	FromBrowser uint64     `json:"from_browser"`
	ToBrowser   uint64     `json:"to_browser"`
	Dropped     uint64     `json:"dropped"`
	FastIn      uint64     `json:"fast_in"`          // SRTP from the browser decrypted on the fast path
	FastOut     uint64     `json:"fast_out"`         // SRTP to the browser encrypted on the fast path
	RTTMS       *float64   `json:"rtt_ms,omitempty"` // from the browser's RTCP reports; absent before one
}

func (s *adminServer) mediaCalls(w http.ResponseWriter, _ *http.Request) {
	now := time.Now()
	src := "gateway"
	if g := s.app.GatewaySource(); g != nil {
		src = g.Name()
	}
	var out []callMediaView
	if s.app.calls != nil {
		for _, c := range s.app.calls.Media() {
			out = append(out, callMediaView{ID: attendant.ID(src, c.ID), Answered: c.Answered.UTC(),
				Legs: []legMediaView{legView("a", c.A, now), legView("b", c.B, now)}})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Answered.Before(out[j].Answered) })
	if out == nil {
		out = []callMediaView{}
	}
	writeJSON(w, map[string]any{"calls": out})
}

func addrText(a netip.AddrPort) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func legView(name string, m b2bua.LegMedia, now time.Time) legMediaView {
	v := legMediaView{Leg: name, Party: m.Party, SIPCallID: m.CallID, Codec: m.Codec,
		Local: addrText(m.Local), Remote: addrText(m.Remote), Latched: addrText(m.Latched), SendTo: addrText(m.SendTo),
		PacketsIn: m.PacketsIn, BytesIn: m.BytesIn, PacketsOut: m.PacketsOut, BytesOut: m.BytesOut,
		Expected: m.Expected, Lost: m.Lost, LossRatio: m.LossRatio,
		JitterMS: float64(m.Jitter) / float64(time.Millisecond)}
	if m.PayloadType >= 0 {
		pt := m.PayloadType
		v.PayloadType = &pt
	}
	if !m.LastPacket.IsZero() {
		t := m.LastPacket.UTC()
		age := max(now.Sub(m.LastPacket).Milliseconds(), 0)
		v.LastPacket, v.LastAgeMS = &t, &age
	}
	if r := m.WebRTC; r != nil {
		v.WebRTC = &webrtcMediaView{State: r.State, Error: r.Error, FromBrowser: r.FromBrowser, ToBrowser: r.ToBrowser, Dropped: r.Dropped,
			FastIn: r.FastIn, FastOut: r.FastOut}
		if r.RTT > 0 {
			ms := float64(r.RTT) / float64(time.Millisecond)
			v.WebRTC.RTTMS = &ms
		}
		if !r.Since.IsZero() {
			t := r.Since.UTC()
			v.WebRTC.Since = &t
		}
	}
	return v
}
