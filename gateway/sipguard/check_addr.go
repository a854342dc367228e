package sipguard

import "bytes"

// This file holds the grammar of the header values sipgo parses. Each rule
// is a strict subset of RFC 3261 §25.1 chosen so that sipgo's lenient state
// machines (parse_via.go, parse_address.go, parse_uri.go) never fail on it
// and split lists at the same commas.

// uri contexts
const (
	uriRequest  = iota // Request-URI: any absolute URI
	uriBracket         // inside < >
	uriAddrSpec        // addr-spec outside < >: no ";", "?" or "," (RFC 3261 §20)
)

// uriChar marks characters allowed in the scheme-specific part of a
// non-SIP absolute URI: unreserved / reserved / escaped (RFC 3986), without
// the delimiters "<", ">", quotes, spaces, "[" and "]".
var uriChar = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = isAlnum(byte(c))
	}
	for _, c := range []byte("-_.!~*'()%;/?:@&=+$,#") {
		t[c] = true
	}
	return t
}()

// userChar: unreserved / escaped / user-unreserved, and ":" for the
// password (RFC 3261 §25.1 userinfo). No "@" or "[".
var userChar = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = isAlnum(byte(c))
	}
	for _, c := range []byte("-_.!~*'()%&=+$,;?/:") {
		t[c] = true
	}
	return t
}()

// paramChar: paramchar of uri-parameter without "[" and "]"
// (RFC 3261 §19.1.1), plus nothing that sipgo treats as a delimiter.
var paramChar = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = isAlnum(byte(c))
	}
	for _, c := range []byte("-_.!~*'()%/:&+$") {
		t[c] = true
	}
	return t
}()

// hnvChar: hname/hvalue characters without "[" and "]".
var hnvChar = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = isAlnum(byte(c))
	}
	for _, c := range []byte("-_.!~*'()%/?:+$") {
		t[c] = true
	}
	return t
}()

// genValueChar: token / host characters of a header parameter value
// (RFC 3261 §25.1 gen-value), IPv6 references included.
var genValueChar = func() (t [256]bool) {
	t = tokenTab
	t[':'] = true
	t['['] = true
	t[']'] = true
	return t
}()

// checkURI checks u is a SIP/SIPS URI (RFC 3261 §19.1.1) or an absolute
// URI, as a whole.
func checkURI(u []byte, ctx int) bool {
	// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ); sipgo accepts
	// letters only.
	if len(u) < 3 || !isAlpha(u[0]) {
		return false
	}
	i := 1
	for i < len(u) && isAlpha(u[i]) {
		i++
	}
	if i >= len(u)-1 || u[i] != ':' {
		return false
	}
	scheme := u[:i]
	rest := u[i+1:]
	if eqFold(scheme, "sip") || eqFold(scheme, "sips") {
		return checkSIPURI(rest, ctx)
	}
	for _, c := range rest {
		if !uriChar[c] {
			return false
		}
		if ctx == uriAddrSpec && (c == ';' || c == '?' || c == ',') {
			return false
		}
	}
	return true
}

// checkSIPURI checks [userinfo "@"] hostport uri-parameters [headers].
func checkSIPURI(r []byte, ctx int) bool {
	if len(r) == 0 || r[0] == '/' {
		return false
	}
	if at := bytes.IndexByte(r, '@'); at >= 0 {
		if at == 0 {
			return false
		}
		for _, c := range r[:at] {
			if !userChar[c] {
				return false
			}
			if ctx == uriAddrSpec && (c == ';' || c == '?' || c == ',') {
				return false
			}
		}
		if r[0] == ':' {
			return false
		}
		r = r[at+1:]
	}
	n, ok := scanHostPort(r)
	if !ok {
		return false
	}
	r = r[n:]
	// uri-parameters = *( ";" uri-parameter )
	for len(r) > 0 && r[0] == ';' {
		if ctx == uriAddrSpec {
			return false
		}
		r = r[1:]
		j := 0
		for j < len(r) && paramChar[r[j]] {
			j++
		}
		if j == 0 {
			return false
		}
		if j < len(r) && r[j] == '=' {
			j++
			k := j
			for j < len(r) && paramChar[r[j]] {
				j++
			}
			if j == k {
				return false
			}
		}
		r = r[j:]
	}
	// headers = "?" header *( "&" header )
	if len(r) > 0 && r[0] == '?' {
		if ctx == uriAddrSpec {
			return false
		}
		r = r[1:]
		for {
			j := 0
			for j < len(r) && hnvChar[r[j]] {
				j++
			}
			if j == 0 || j >= len(r) || r[j] != '=' {
				return false
			}
			j++
			for j < len(r) && hnvChar[r[j]] {
				j++
			}
			r = r[j:]
			if len(r) == 0 {
				break
			}
			if r[0] != '&' {
				return false
			}
			r = r[1:]
		}
	}
	return len(r) == 0
}

// scanHostPort scans host [":" port] at the start of r (RFC 3261 §25.1
// hostport) and returns its length.
func scanHostPort(r []byte) (int, bool) {
	i := 0
	if len(r) > 0 && r[0] == '[' {
		// IPv6reference; sipgo looks for "]" within 42 bytes.
		j := 1
		for j < len(r) && (isHex(r[j]) || r[j] == ':' || r[j] == '.') {
			j++
		}
		if j == 1 || j > 40 || j >= len(r) || r[j] != ']' {
			return 0, false
		}
		i = j + 1
	} else {
		for i < len(r) && (isAlnum(r[i]) || r[i] == '-' || r[i] == '.' || r[i] == '_') {
			i++
		}
		if i == 0 {
			return 0, false
		}
	}
	if i < len(r) && r[i] == ':' {
		i++
		k := i
		for i < len(r) && isDigit(r[i]) {
			i++
		}
		if i == k || i-k > 5 {
			return 0, false
		}
	}
	return i, true
}

// scanQuoted scans a quoted-string starting at v[i] == '"' and returns the
// offset after the closing quote. A quoted-pair may escape any octet but CR,
// LF and non-ASCII (RFC 3261 §25.1; RFC 4475 §3.1.1.2 escapes NUL, BEL and
// DEL). In a list (list true) the escaped quotes of one quoted-string must
// be even in number: sipgo's list splitters toggle on every '"', and an odd
// count would let them split inside the string.
func scanQuoted(v []byte, i int, list bool) (int, bool) {
	i++
	escQuotes := 0
	for i < len(v) {
		c := v[i]
		switch {
		case c == '"':
			if list && escQuotes%2 != 0 {
				return 0, false
			}
			return i + 1, true
		case c == '\\':
			if i+1 >= len(v) {
				return 0, false
			}
			e := v[i+1]
			if e == '\r' || e == '\n' || e >= 0x80 {
				return 0, false
			}
			if e == '"' {
				escQuotes++
			}
			i += 2
			continue
		case (c < 0x20 && c != '\t') || c == 0x7f:
			return 0, false
		}
		i++
	}
	return 0, false
}

// scanAddress scans name-addr / addr-spec followed by header parameters
// (RFC 3261 §20.10, §25.1) starting at v[i]. nameAddrOnly refuses the
// addr-spec form. It stops before a top-level "," or at the end.
func scanAddress(v []byte, i int, nameAddrOnly, list bool) (int, bool) {
	if i >= len(v) {
		return 0, false
	}
	start := i
	bracket := false
	if v[i] == '"' {
		j, ok := scanQuoted(v, i, list)
		if !ok {
			return 0, false
		}
		j = skipWSP(v, j)
		if j >= len(v) || v[j] != '<' {
			return 0, false
		}
		i = j
		bracket = true
	} else {
		// display-name = *(token LWS); UTF-8 bytes are tolerated.
		j := i
		for j < len(v) && (tokenTab[v[j]] || v[j] == ' ' || v[j] == '\t' || v[j] >= 0x80) {
			j++
		}
		if j < len(v) && v[j] == '<' {
			i = j
			bracket = true
		} else {
			i = start
		}
	}
	if bracket {
		end := bytes.IndexByte(v[i+1:], '>')
		if end < 0 {
			return 0, false
		}
		if !checkURI(v[i+1:i+1+end], uriBracket) {
			return 0, false
		}
		i += end + 2
	} else {
		if nameAddrOnly {
			return 0, false
		}
		j := i
		for j < len(v) && v[j] != ';' && v[j] != ',' && v[j] != ' ' && v[j] != '\t' {
			j++
		}
		if !checkURI(v[i:j], uriAddrSpec) {
			return 0, false
		}
		i = j
	}
	return scanParams(v, i, list)
}

// scanParams scans *( SEMI generic-param ) (RFC 3261 §25.1) and returns
// the offset of the first byte after them (end or ",").
func scanParams(v []byte, i int, list bool) (int, bool) {
	for {
		j := skipWSP(v, i)
		if j >= len(v) || v[j] == ',' {
			return j, true
		}
		if v[j] != ';' {
			return 0, false
		}
		j = skipWSP(v, j+1)
		k := j
		for j < len(v) && tokenTab[v[j]] {
			j++
		}
		if j == k {
			return 0, false
		}
		e := skipWSP(v, j)
		if e < len(v) && v[e] == '=' {
			j = skipWSP(v, e+1)
			if j < len(v) && v[j] == '"' {
				var ok bool
				if j, ok = scanQuoted(v, j, list); !ok {
					return 0, false
				}
			} else {
				k := j
				for j < len(v) && genValueChar[v[j]] {
					j++
				}
				if j == k {
					return 0, false
				}
			}
		}
		i = j
	}
}

// checkSingleAddress checks From, To, Referred-By and Refer-To: exactly one
// address, no wildcard.
func checkSingleAddress(v []byte) bool {
	i, ok := scanAddress(v, 0, false, false)
	return ok && i == len(v)
}

// checkContact checks Contact: "*" or a list of addresses. When the list
// has more than one entry every entry must use name-addr: sipgo cannot
// split a list of bare addr-specs.
func checkContact(v []byte) bool {
	if len(v) == 1 && v[0] == '*' {
		return true
	}
	return checkAddressList(v, false)
}

// checkRouteList checks Route and Record-Route: 1#name-addr *(SEMI rr-param)
// (RFC 3261 §20.30, §20.34).
func checkRouteList(v []byte) bool {
	return checkAddressList(v, true)
}

func checkAddressList(v []byte, nameAddrOnly bool) bool {
	i, ok := scanAddress(v, 0, nameAddrOnly, true)
	if !ok {
		return false
	}
	if i == len(v) {
		return true
	}
	first := v[:i]
	for i < len(v) {
		// v[i] == ','
		i = skipWSP(v, i+1)
		j, ok := scanAddress(v, i, true, true)
		if !ok {
			return false
		}
		i = j
	}
	// A list: the first entry must be a name-addr as well.
	_, ok = scanAddress(first, 0, true, true)
	return ok
}

// checkVia checks Via = 1#via-parm (RFC 3261 §20.42):
// sent-protocol LWS sent-by *( SEMI via-params ), with no whitespace inside
// sent-protocol or around ";" (sipgo would misread it).
func checkVia(v []byte) bool {
	i := 0
	for {
		// sent-protocol = protocol-name SLASH protocol-version SLASH transport
		for part := 0; part < 3; part++ {
			k := i
			for i < len(v) && tokenTab[v[i]] {
				i++
			}
			if i == k {
				return false
			}
			if part < 2 {
				if i >= len(v) || v[i] != '/' {
					return false
				}
				i++
			}
		}
		k := i
		i = skipWSP(v, i)
		if i == k {
			return false
		}
		n, ok := scanHostPort(v[i:])
		if !ok {
			return false
		}
		i += n
		params := 0
		for i < len(v) && v[i] == ';' {
			i++
			k := i
			for i < len(v) && tokenTab[v[i]] {
				i++
			}
			if i == k {
				return false
			}
			if i < len(v) && v[i] == '=' {
				i++
				k := i
				for i < len(v) && genValueChar[v[i]] {
					i++
				}
				if i == k {
					return false
				}
			}
			params++
		}
		i = skipWSP(v, i)
		if i == len(v) {
			return true
		}
		// sipgo only finds the next via-parm after parameters.
		if v[i] != ',' || params == 0 {
			return false
		}
		i = skipWSP(v, i+1)
	}
}
