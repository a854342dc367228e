package registrar

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

// contact is one Contact header of a REGISTER, parsed (RFC 3261 §10.2.1).
type contact struct {
	uri        string
	params     string  // params to echo in the 200 OK, without expires and q
	q          float32 // -1 when absent
	expires    int     // seconds, resolved against the Expires header and defaults
	instanceID string  // RFC 5626 §4.1 +sip.instance
	regID      int     // RFC 5626 §4.2 reg-id
}

// key identifies the binding within its AOR: the RFC 5626 instance and reg-id
// when present, else the contact URI (RFC 3261 §10.3 step 7).
func (c contact) key() string {
	return store.Binding{ContactURI: c.uri, InstanceID: c.instanceID, RegID: c.regID}.Key()
}

var (
	errBadExpires = errors.New("invalid expires value")
	errBadQ       = errors.New("invalid q value")
	errBadRegID   = errors.New("invalid reg-id value")
	errWildcard   = errors.New("wildcard contact must stand alone with Expires: 0")
)

// parseContacts reads every Contact of req. The second result reports the
// wildcard form "*" (RFC 3261 §10.2.2), which is returned without contacts.
func parseContacts(hs []sip.Header, headerExpires int, defaultExpires int) ([]contact, bool, error) {
	var out []contact
	wildcard := false
	for _, h := range hs {
		ch, ok := h.(*sip.ContactHeader)
		if !ok {
			return nil, false, fmt.Errorf("unparsable contact %q", h.Value())
		}
		if ch.Address.Wildcard {
			wildcard = true
			continue
		}
		c, err := parseContact(ch, headerExpires, defaultExpires)
		if err != nil {
			return nil, false, err
		}
		out = append(out, c)
	}
	if wildcard && (len(out) > 0 || len(hs) > 1 || headerExpires != 0) {
		return nil, false, errWildcard
	}
	return out, wildcard, nil
}

func parseContact(ch *sip.ContactHeader, headerExpires, defaultExpires int) (contact, error) {
	c := contact{q: -1, expires: defaultExpires}
	if headerExpires >= 0 {
		c.expires = headerExpires
	}
	uri := ch.Address
	uri.Host = strings.ToLower(uri.Host)
	c.uri = uri.String()
	if c.uri == "" || uri.Host == "" {
		return c, fmt.Errorf("contact without host")
	}
	var rest strings.Builder
	for _, kv := range ch.Params {
		name := strings.ToLower(kv.K)
		switch name {
		case "expires":
			n, err := parseDeltaSeconds(kv.V)
			if err != nil {
				return c, err
			}
			c.expires = n
			continue
		case "q":
			q, err := strconv.ParseFloat(kv.V, 32)
			if err != nil || q < 0 || q > 1 || math.IsNaN(q) {
				return c, fmt.Errorf("%w: %q", errBadQ, kv.V)
			}
			c.q = float32(q)
			continue
		case "+sip.instance":
			c.instanceID = strings.Trim(kv.V, `"`)
		case "reg-id":
			n, err := strconv.Atoi(kv.V)
			if err != nil || n < 1 || n > 1<<31-1 {
				return c, fmt.Errorf("%w: %q", errBadRegID, kv.V)
			}
			c.regID = n
		}
		rest.WriteByte(';')
		rest.WriteString(kv.K)
		if kv.V != "" {
			rest.WriteByte('=')
			rest.WriteString(kv.V)
		}
	}
	c.params = rest.String()
	return c, nil
}

// parseDeltaSeconds parses delta-seconds (RFC 3261 §25.1); values beyond
// 2^32-1 are treated as 2^32-1, as §20.19 allows, and capped later.
func parseDeltaSeconds(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errBadExpires
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%w: %q", errBadExpires, s)
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > math.MaxUint32 {
		return math.MaxUint32, nil
	}
	return int(n), nil
}

// headerExpires returns the value of the Expires header h, or -1 when absent.
func headerExpires(h sip.Header) (int, error) {
	if h == nil {
		return -1, nil
	}
	return parseDeltaSeconds(h.Value())
}

// contactValue renders a binding for the 200 OK contact list
// (RFC 3261 §10.3 step 8).
func contactValue(uri, params string, q float32, expires time.Time, now time.Time) string {
	secs := int(math.Ceil(expires.Sub(now).Seconds()))
	if secs < 0 {
		secs = 0
	}
	var b strings.Builder
	b.Grow(len(uri) + len(params) + 24)
	b.WriteByte('<')
	b.WriteString(uri)
	b.WriteByte('>')
	b.WriteString(params)
	b.WriteString(";expires=")
	b.WriteString(strconv.Itoa(secs))
	if q >= 0 {
		b.WriteString(";q=")
		b.WriteString(strconv.FormatFloat(float64(q), 'f', -1, 32))
	}
	return b.String()
}

// splitList splits a comma-separated header value (Path, Supported, Require)
// at commas that are outside quotes and angle brackets.
func splitList(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			quoted = !quoted
		case '<':
			if !quoted {
				depth++
			}
		case '>':
			if !quoted && depth > 0 {
				depth--
			}
		case ',':
			if !quoted && depth == 0 {
				if s := strings.TrimSpace(v[start:i]); s != "" {
					out = append(out, s)
				}
				start = i + 1
			}
		}
	}
	if s := strings.TrimSpace(v[start:]); s != "" {
		out = append(out, s)
	}
	return out
}
