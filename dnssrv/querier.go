package dnssrv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// querier asks the configured servers one question: over UDP with an
// EDNS0 buffer size (RFC 6891), again over TCP when the answer comes back
// truncated (RFC 1035 §4.2.1, RFC 7766 §5), each server in turn until one
// gives a usable answer, for the given number of rounds.
type querier struct {
	servers  []string
	timeout  time.Duration
	attempts int
	bufsize  uint16 // 0: no EDNS0
	udp, tcp *dns.Client
}

func newQuerier(servers []string, timeout time.Duration, attempts int, bufsize uint16) *querier {
	udpSize := bufsize
	if udpSize < dns.MinMsgSize {
		udpSize = dns.MinMsgSize
	}
	return &querier{
		servers:  servers,
		timeout:  timeout,
		attempts: attempts,
		bufsize:  bufsize,
		// UDPSize is also the read buffer: a datagram larger than what we
		// advertised is cut and fails to unpack (ErrMalformed), never more.
		udp: &dns.Client{Net: "udp", UDPSize: udpSize, Timeout: timeout},
		tcp: &dns.Client{Net: "tcp", Timeout: timeout},
	}
}

// exchange returns an answer whose RCODE is NOERROR or NXDOMAIN, checked to
// answer the question asked, and the server that gave it. Other outcomes
// are errors: ErrTimeout, ErrServFail, ErrMalformed, or ctx's error.
func (q *querier) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, error) {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	if q.bufsize > 0 {
		m.SetEdns0(q.bufsize, false)
	}
	var last error
	server := ""
	for range q.attempts {
		for _, server = range q.servers {
			r, err := q.one(ctx, m, server)
			if err == nil {
				return r, server, nil
			}
			if ctx.Err() != nil {
				return nil, server, ctx.Err()
			}
			last = err
		}
	}
	if last == nil {
		last = fmt.Errorf("%w: no DNS servers configured", ErrServFail)
	}
	return nil, server, last
}

// one asks one server, falling back to TCP on truncation.
func (q *querier) one(ctx context.Context, m *dns.Msg, server string) (*dns.Msg, error) {
	qctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()
	m.Id = dns.Id()
	r, err := exchangeOn(qctx, q.udp, m, server)
	if err == nil && r.Truncated {
		r, err = exchangeOn(qctx, q.tcp, m, server)
		if err == nil && r.Truncated {
			return nil, fmt.Errorf("%w: truncated over TCP", ErrMalformed)
		}
	}
	if err != nil {
		return nil, classify(err)
	}
	return r, check(m, r)
}

// exchangeOn is dns.Client.ExchangeContext that also ends when ctx is
// cancelled (miekg/dns only takes the deadline), so Close never waits for
// a silent server.
func exchangeOn(ctx context.Context, c *dns.Client, m *dns.Msg, server string) (*dns.Msg, error) {
	co, err := c.DialContext(ctx, server)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = co.Close() })
	defer func() {
		stop()
		_ = co.Close()
	}()
	r, _, err := c.ExchangeWithConnContext(ctx, m, co)
	if err != nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return r, err
}

// classify maps a transport or unpack error to a sentinel.
func classify(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ErrTimeout
	case errors.Is(err, context.Canceled):
		return err
	case isUnpackError(err):
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return fmt.Errorf("%w: %v", ErrServFail, err)
}

// isUnpackError reports whether err came from parsing a DNS message.
func isUnpackError(err error) bool {
	var de *dns.Error
	if errors.As(err, &de) {
		return true
	}
	s := err.Error()
	return strings.HasPrefix(s, "dns: ") || strings.Contains(s, "overflow") || strings.Contains(s, "buffer")
}

// check verifies that r answers m (RFC 5452 §9.1: id, question, class) and
// maps the RCODE.
func check(m, r *dns.Msg) error {
	if !r.Response || r.Opcode != dns.OpcodeQuery {
		return fmt.Errorf("%w: not a response to a query", ErrMalformed)
	}
	switch r.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	case dns.RcodeServerFailure, dns.RcodeRefused:
		return fmt.Errorf("%w: %s", ErrServFail, dns.RcodeToString[r.Rcode])
	default:
		return fmt.Errorf("%w: rcode %s", ErrServFail, rcodeString(r.Rcode))
	}
	if r.Id != m.Id || len(r.Question) != 1 {
		return fmt.Errorf("%w: does not answer the question asked", ErrMalformed)
	}
	aq, qq := r.Question[0], m.Question[0]
	if aq.Qtype != qq.Qtype || aq.Qclass != qq.Qclass || !strings.EqualFold(aq.Name, qq.Name) {
		return fmt.Errorf("%w: answers %s %s, not the question asked", ErrMalformed, aq.Name, dns.TypeToString[aq.Qtype])
	}
	return nil
}

func rcodeString(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return fmt.Sprint(rc)
}
