package ladder

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/capture"
)

// View is a call's ladder laid out for drawing: the parties are columns
// (the caller first, the gateway second, then every other peer in the
// order it appeared) and each message is an arrow between two columns.
type View struct {
	Summary
	Parties  []Party `json:"parties"`
	Messages []Arrow `json:"messages"`
}

// Party is one column.
type Party struct {
	Column int `json:"column"`
	// Name is "gateway" for the gateway, else the peer's address.
	Name    string `json:"name"`
	Gateway bool   `json:"gateway,omitempty"`
	// Addrs are the addresses (ip:port) seen for the party: the gateway's
	// local ones, or the peer's.
	Addrs []string `json:"addrs"`
}

// Arrow is one message.
type Arrow struct {
	Time time.Time `json:"time"`
	// OffsetMS is the time since the call's first message, in
	// milliseconds.
	OffsetMS float64 `json:"offset_ms"`
	// From and To are the columns of the sender and the receiver.
	From int `json:"from"`
	To   int `json:"to"`
	// Direction is in (received by the gateway) or out (sent by it).
	Direction string `json:"direction"`
	Transport string `json:"transport"`
	Src       string `json:"src"`
	Dst       string `json:"dst"`
	// Leg is the index of the message's Call-ID in call_ids (0: the
	// caller's leg).
	Leg    int    `json:"leg"`
	CallID string `json:"call_id"`
	// Label is the method, or the status code and reason phrase.
	Label string `json:"label"`
	CSeq  string `json:"cseq"`
	Size  int    `json:"size"`
	// Text is the whole message.
	Text string `json:"text"`
}

// View lays the ladder out.
func (l Ladder) View() View {
	v := View{Summary: l.Summary, Parties: []Party{}, Messages: make([]Arrow, 0, len(l.Messages))}
	legs := map[string]int{}
	for i, id := range l.CallIDs {
		legs[id] = i
	}
	gw := -1
	peers := map[netip.AddrPort]int{}
	local := map[netip.AddrPort]bool{}
	column := func(ap netip.AddrPort) int {
		if c, ok := peers[ap]; ok {
			return c
		}
		c := len(v.Parties)
		peers[ap] = c
		v.Parties = append(v.Parties, Party{Column: c, Name: ap.String(), Addrs: []string{ap.String()}})
		return c
	}
	gateway := func(ap netip.AddrPort) int {
		if gw < 0 {
			gw = len(v.Parties)
			v.Parties = append(v.Parties, Party{Column: gw, Name: "gateway", Gateway: true, Addrs: []string{}})
		}
		if !local[ap] {
			local[ap] = true
			v.Parties[gw].Addrs = append(v.Parties[gw].Addrs, ap.String())
		}
		return gw
	}
	for _, m := range l.Messages {
		// The first peer (the caller) is the first column, the gateway
		// the next.
		p := column(m.Remote)
		g := gateway(m.Local)
		a := Arrow{Time: m.Time, OffsetMS: float64(m.Time.Sub(l.Start).Microseconds()) / 1000, Direction: m.Dir.String(),
			Transport: m.Transport, Leg: legs[m.CallID], CallID: m.CallID, Label: m.Label(),
			CSeq: strconv.FormatUint(uint64(m.CSeq), 10) + " " + m.CSeqMethod, Size: len(m.Data), Text: string(m.Data)}
		if m.Dir == capture.Out {
			a.From, a.To, a.Src, a.Dst = g, p, m.Local.String(), m.Remote.String()
		} else {
			a.From, a.To, a.Src, a.Dst = p, g, m.Remote.String(), m.Local.String()
		}
		v.Messages = append(v.Messages, a)
	}
	return v
}
