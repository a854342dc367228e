package dnssrv

import (
	"errors"
	"fmt"
	"time"

	"github.com/miekg/dns"
)

// Errors callers test for with errors.Is.
var (
	// ErrNoTargets means resolution found no address to send to.
	ErrNoTargets = errors.New("dnssrv: no targets")
	// ErrNXDomain means the name does not exist (RCODE 3, RFC 2308 §2.1).
	ErrNXDomain = errors.New("dnssrv: name does not exist")
	// ErrNoData means the name exists but has no records of the type asked
	// for (RFC 2308 §2.2).
	ErrNoData = errors.New("dnssrv: no records of that type")
	// ErrServFail means every server failed to answer (SERVFAIL, REFUSED or
	// another error RCODE).
	ErrServFail = errors.New("dnssrv: server failure")
	// ErrTimeout means no server answered within dns.timeout.
	ErrTimeout = errors.New("dnssrv: query timed out")
	// ErrMalformed means an answer could not be parsed or did not answer
	// the question asked.
	ErrMalformed = errors.New("dnssrv: malformed answer")
	// ErrCNAMELoop means a CNAME chain looped or was longer than allowed.
	ErrCNAMELoop = errors.New("dnssrv: CNAME chain loops or is too long")
	// ErrNoService means the domain says the service is not offered: an
	// SRV record set whose only target is "." (RFC 2782).
	ErrNoService = errors.New("dnssrv: service decidedly not available")
	// ErrBadTarget means a trunk target or URI could not be parsed.
	ErrBadTarget = errors.New("dnssrv: bad target")
	// ErrClosed means the resolver or manager was closed.
	ErrClosed = errors.New("dnssrv: closed")
	// ErrAllFailed means a request failed on every target (Send).
	ErrAllFailed = errors.New("dnssrv: every target failed")
	// ErrUnknownTrunk means no trunk has the name given.
	ErrUnknownTrunk = errors.New("dnssrv: unknown trunk")
)

// QueryError is a failed DNS lookup: which name and type, and why.
type QueryError struct {
	Name   string // the name asked for, fully qualified
	Type   string // A, AAAA, SRV, NAPTR
	Server string // the last server tried, if any
	Err    error  // one of the sentinel errors above, possibly wrapped
}

func (e *QueryError) Error() string {
	s := fmt.Sprintf("dns %s %s", e.Type, e.Name)
	if e.Server != "" {
		s += " @" + e.Server
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *QueryError) Unwrap() error { return e.Err }

func queryError(name string, qtype uint16, server string, err error) error {
	return &QueryError{Name: name, Type: dns.TypeToString[qtype], Server: server, Err: err}
}

// errNoSupportedTransport is returned when NAPTR names only transports we
// do not use.
var errNoSupportedTransport = errors.New("dnssrv: no NAPTR service for a transport in dns.transports")

// ErrFailoverTimeout means a target sent no response within the trunk's
// failover_timeout (or the probe timeout).
var ErrFailoverTimeout = errors.New("dnssrv: no response in time")

// StatusError is a SIP final response that counts as a failure of the
// target: a failover status (503 by default) to a request, or 408, 5xx or
// 6xx... to a probe.
type StatusError struct {
	Code   int
	Reason string
	// RetryAfter is the Retry-After header's delay, 0 when absent.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("SIP %d %s", e.Code, e.Reason)
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (Retry-After %s)", e.RetryAfter)
	}
	return s
}
