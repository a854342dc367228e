// Package capture sees every SIP message the gateway receives and sends, on
// every transport, as it crosses sipgo's transport layer, and hands each to
// the sinks that keep or mirror them: the per-call ladder (gateway/ladder)
// and the HEP mirror (gateway/hep).
//
// Incoming UDP datagrams are taken by sipgo's read filter just before they
// are parsed; incoming stream messages from sipgo's transport layer as
// parsed, by a handler that runs before the transaction layer's. Either
// way a request is captured before anything answers it. Outgoing messages
// on UDP listeners are taken by a wrapper of the listener socket just
// before the write; the others from sipgo's write hook
// (sip.SIPDebugTracer), just after it. The UDP REGISTER fast path
// (sipserver's stateless responder) bypasses sipgo and reports its
// datagrams itself.
package capture

import (
	"net/netip"
	"time"
)

// Direction says whether the gateway received or sent a message.
type Direction uint8

// Directions.
const (
	In  Direction = iota // received by the gateway
	Out                  // sent by the gateway
)

func (d Direction) String() string {
	if d == Out {
		return "out"
	}
	return "in"
}

// Message is one SIP message as the gateway received or sent it. A sink
// may keep it: nothing changes it after it is handed over.
type Message struct {
	// Time is when the message was read, or when it was written: before the
	// write on UDP listeners, just after it elsewhere (sipgo's write hook).
	Time time.Time
	Dir  Direction
	// Transport is udp, tcp, tls, ws or wss.
	Transport string
	// Local is the gateway's address, Remote the peer's. Local's IP is
	// unspecified (0.0.0.0) when a listener bound every address and the
	// gateway has no better one to name.
	Local, Remote netip.AddrPort
	// Data is the message: as sent for outgoing messages; as received for
	// incoming UDP datagrams (after sipguard's checks); as sipgo parsed it
	// for incoming stream messages (TCP, TLS, WS, WSS: header whitespace
	// and compact names normalised).
	Data []byte
	Head
}

// Head is what grouping and summaries need from a message.
type Head struct {
	// Method is the request method; empty for a response.
	Method string
	// Status and Reason are the response's; zero for a request.
	Status int
	Reason string
	CallID string
	// CSeq is the CSeq number and CSeqMethod its method.
	CSeq       uint32
	CSeqMethod string
	// From and To are the header values (name-addr with parameters).
	From, To string
	// ToTag tells whether To has a tag: a request without one is outside
	// a dialog (RFC 3261 §12.1).
	ToTag bool
	// ViaTransport is the transport of the top Via (RFC 3261 §18.2.2):
	// UDP, TCP, TLS, WS, WSS.
	ViaTransport string
}

// IsRequest reports whether the message is a request.
func (h *Head) IsRequest() bool { return h.Method != "" }

// Label is the ladder's arrow text: the method, or status and reason.
func (h *Head) Label() string {
	if h.IsRequest() {
		return h.Method
	}
	return itoa(h.Status) + " " + h.Reason
}

// Sink takes captured messages. Capture must not block and must not
// change m; it is called from the goroutines that read and write sockets.
type Sink interface {
	Capture(m *Message)
}

// Sinks fans a message out to several sinks.
type Sinks []Sink

// Capture implements Sink.
func (s Sinks) Capture(m *Message) {
	for _, k := range s {
		k.Capture(m)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
