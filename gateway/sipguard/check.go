package sipguard

import "bytes"

// MaxSIPMessage is the largest message Check accepts. It equals sipgo's
// sip.ParseMaxMessageLength; anything larger sipgo refuses to parse.
const MaxSIPMessage = 65535

// Head is what Check learns about a message that passed.
type Head struct {
	// IsRequest is true for requests, false for responses.
	IsRequest bool
	// Method is the request method; for a response, the CSeq method.
	Method string
	// StatusCode is the response status code (0 for requests).
	StatusCode int
	// CallID is the Call-ID value.
	CallID string
	// CSeq is the CSeq sequence number.
	CSeq uint32
	// HeaderLen is the length of the start line and header section,
	// including the empty line that ends it.
	HeaderLen int
	// ContentLength is the Content-Length value, or -1 when absent.
	ContentLength int
	// BodyLen is the length of the body that belongs to the message: the
	// Content-Length, or the rest of the datagram when it is absent. Bytes
	// after HeaderLen+BodyLen are to be discarded (RFC 3261 §18.3).
	BodyLen int
}

// Len returns the length of the message proper (HeaderLen+BodyLen).
func (h Head) Len() int { return h.HeaderLen + h.BodyLen }

// header kinds Check validates. Names are matched case-insensitively,
// including compact forms (RFC 3261 §7.3.3), exactly as sipgo maps them.
const (
	hOther = iota
	hVia
	hFrom
	hTo
	hCallID
	hCSeq
	hContact
	hMaxForwards
	hContentLength
	hContentType
	hRoute
	hRecordRoute
	hReferTo
	hReferredBy
)

// Check is the guard's fast SIP syntax check (RFC 3261 §7, §25). It treats
// msg as one whole message as received in a datagram: with no
// Content-Length the body is the rest of msg; a body shorter than
// Content-Length is malformed; one longer is truncated (Head.BodyLen).
//
// Check is deliberately stricter than sipgo's parser: every message it
// accepts, sip.ParseMessage also parses (see FuzzCheckAgainstSipgo). It
// checks the start line, header syntax including folding and compact forms,
// the grammar of the headers sipgo parses (Via, From, To, Contact, Call-ID,
// CSeq, Max-Forwards, Content-Length, Content-Type, Route, Record-Route,
// Refer-To, Referred-By), the mandatory headers and the CSeq method.
//
// Errors wrap ErrMalformed (as *MalformedError) or are ErrTooLarge.
func Check(msg []byte) (Head, error) {
	var h Head
	h.ContentLength = -1
	if len(msg) > MaxSIPMessage {
		return h, ErrTooLarge
	}
	if len(msg) == 0 {
		return h, errEmpty
	}
	// Start line (RFC 3261 §7.1, §7.2).
	line, next, err := nextLine(msg, 0)
	if err != nil {
		return h, err
	}
	var (
		reqMethod []byte
		// unsupportedScheme: a well-formed Request-URI of a scheme we do
		// not serve (RFC 3261 §8.2.2.1: 416); reported once the rest of the
		// message is known to be well formed.
		unsupportedScheme bool
	)
	if bytes.HasPrefix(line, []byte("SIP/2.0 ")) {
		code, err := checkStatusLine(line)
		if err != nil {
			return h, err
		}
		h.StatusCode = code
	} else {
		m, unsup, err := checkRequestLine(line)
		if err != nil {
			return h, err
		}
		unsupportedScheme = unsup
		h.IsRequest = true
		reqMethod = m
		h.Method = methodString(m)
	}

	var (
		seen       uint32
		scratch    [256]byte
		cseqMethod []byte
	)
	pos := next
	for {
		line, next, err := nextLine(msg, pos)
		if err != nil {
			return h, err
		}
		if len(line) == 0 {
			h.HeaderLen = next
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			// A continuation with no header before it (the start line
			// cannot be folded).
			return h, errContinuation
		}
		// Header folding (RFC 3261 §7.3.1): continuation lines start with
		// SP or HTAB. sipgo joins them with one SP after trimming.
		end := next
		folded := false
		for end < len(msg) && (msg[end] == ' ' || msg[end] == '\t') {
			_, n2, err := nextLine(msg, end)
			if err != nil {
				return h, err
			}
			end = n2
			folded = true
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return h, errHeaderName
		}
		name := trimRightWSP(line[:colon])
		if len(name) == 0 || !allToken(name) {
			return h, errHeaderName
		}
		var value []byte
		if !folded {
			value = line[colon+1:]
		} else {
			buf := scratch[:0]
			buf = append(buf, trimRightWSP(line)...)
			for p := next; p < end; {
				cont, n2, _ := nextLine(msg, p)
				buf = append(buf, ' ')
				buf = append(buf, trimWSP(cont)...)
				p = n2
			}
			value = buf[colon+1:]
		}
		value = trimWSP(value)
		if !validValue(value) {
			return h, errHeaderValue
		}
		kind := headerKind(name)
		if kind != hOther {
			bit := uint32(1) << kind
			single := kind != hVia && kind != hContact && kind != hRoute && kind != hRecordRoute
			if single && seen&bit != 0 {
				return h, errDuplicate
			}
			seen |= bit
		}
		switch kind {
		case hVia:
			if !checkVia(value) {
				return h, errVia
			}
		case hFrom:
			if !checkSingleAddress(value) {
				return h, errFrom
			}
		case hTo:
			if !checkSingleAddress(value) {
				return h, errTo
			}
		case hReferredBy:
			if !checkSingleAddress(value) {
				return h, errReferredBy
			}
		case hReferTo:
			if !checkSingleAddress(value) {
				return h, errReferTo
			}
		case hContact:
			if !checkContact(value) {
				return h, errContact
			}
		case hRoute:
			if !checkRouteList(value) {
				return h, errRoute
			}
		case hRecordRoute:
			if !checkRouteList(value) {
				return h, errRecordRoute
			}
		case hCallID:
			if len(value) == 0 || !allVisible(value) {
				return h, errCallID
			}
			h.CallID = string(value)
		case hCSeq:
			n, m, ok := parseCSeq(value)
			if !ok {
				return h, errCSeq
			}
			h.CSeq = n
			if folded {
				cseqMethod = append([]byte(nil), m...)
			} else {
				cseqMethod = m
			}
		case hMaxForwards:
			if _, ok := parseDigits(value, 9); !ok {
				return h, errMaxForwards
			}
		case hContentLength:
			n, ok := parseDigits(value, 9)
			if !ok {
				return h, errContentLength
			}
			h.ContentLength = n
		case hContentType:
			if len(value) == 0 {
				return h, errContentType
			}
		}
		pos = end
	}

	// Mandatory header fields (RFC 3261 §8.1.1).
	switch {
	case seen&(1<<hVia) == 0:
		return h, errMissingVia
	case seen&(1<<hFrom) == 0:
		return h, errMissingFrom
	case seen&(1<<hTo) == 0:
		return h, errMissingTo
	case seen&(1<<hCallID) == 0:
		return h, errMissingCallID
	case seen&(1<<hCSeq) == 0:
		return h, errMissingCSeq
	}
	if h.IsRequest {
		// RFC 3261 §8.1.1.5: the CSeq method MUST match the request's.
		if !bytes.Equal(cseqMethod, reqMethod) {
			return h, errCSeqMethod
		}
	} else {
		h.Method = methodString(cseqMethod)
	}

	// Body (RFC 3261 §7.4, §18.3).
	rest := len(msg) - h.HeaderLen
	if h.ContentLength >= 0 {
		if rest < h.ContentLength {
			return h, errBodyShort
		}
		h.BodyLen = h.ContentLength
	} else {
		h.BodyLen = rest
	}
	if unsupportedScheme {
		return h, ErrUnsupportedScheme
	}
	return h, nil
}

// nextLine returns the line starting at pos without its CRLF and the
// offset after the CRLF. Bare CR or LF and control characters are errors
// (RFC 3261 §7: lines end with CRLF).
func nextLine(msg []byte, pos int) ([]byte, int, error) {
	i := bytes.IndexByte(msg[pos:], '\n')
	if i < 0 {
		return nil, 0, errUnterminated
	}
	if i == 0 || msg[pos+i-1] != '\r' {
		return nil, 0, errLineEnding
	}
	line := msg[pos : pos+i-1]
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, 0, errLineEnding
	}
	return line, pos + i + 1, nil
}

// checkRequestLine checks Request-Line = Method SP Request-URI SP
// SIP-Version (RFC 3261 §7.1) and returns the method. unsupported is true
// for a well-formed absolute URI whose scheme is not sip, sips or tel.
func checkRequestLine(line []byte) (method []byte, unsupported bool, err error) {
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return nil, false, errStartLine
	}
	method = line[:sp1]
	if !allToken(method) {
		return nil, false, errStartLine
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return nil, false, errStartLine
	}
	if v := rest[sp2+1:]; string(v) != "SIP/2.0" {
		// RFC 4475 §3.1.2.16: a well-formed version we do not speak gets
		// 505, anything else (§3.1.2.8-10: extra SP) 400.
		if isVersion(v) {
			return nil, false, ErrVersionNotSupported
		}
		return nil, false, errVersion
	}
	uri := rest[:sp2]
	if checkURI(uri, uriRequest) {
		scheme := uri[:bytes.IndexByte(uri, ':')]
		return method, !eqFold(scheme, "sip") && !eqFold(scheme, "sips") && !eqFold(scheme, "tel"), nil
	}
	if otherAbsoluteURI(uri) {
		if s := uri[:bytes.IndexByte(uri, ':')]; eqFold(s, "sip") || eqFold(s, "sips") || eqFold(s, "tel") {
			return nil, false, errRequestURI // ours, and malformed
		}
		return method, true, nil
	}
	return nil, false, errRequestURI
}

// isVersion reports whether v is SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT
// (RFC 3261 §25.1).
func isVersion(v []byte) bool {
	if len(v) < 7 || !eqFold(v[:4], "sip/") {
		return false
	}
	v = v[4:]
	dot := bytes.IndexByte(v, '.')
	if dot <= 0 || dot == len(v)-1 {
		return false
	}
	_, ok1 := parseDigits(v[:dot], 9)
	_, ok2 := parseDigits(v[dot+1:], 9)
	return ok1 && ok2
}

// otherAbsoluteURI checks absoluteURI = scheme ":" ( hier-part / opaque-part )
// (RFC 3261 §25.1, RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" /
// "-" / "." )) for schemes sipgo cannot parse; such a Request-URI is never
// handed to sipgo, only answered with 416 (RFC 4475 §3.3.3).
func otherAbsoluteURI(u []byte) bool {
	colon := bytes.IndexByte(u, ':')
	if colon <= 0 || colon == len(u)-1 || !isAlpha(u[0]) {
		return false
	}
	for _, c := range u[1:colon] {
		if !isAlnum(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	for _, c := range u[colon+1:] {
		if !uriChar[c] {
			return false
		}
	}
	return true
}

// checkStatusLine checks Status-Line = SIP-Version SP Status-Code SP
// Reason-Phrase (RFC 3261 §7.2). line starts with "SIP/2.0 ".
func checkStatusLine(line []byte) (int, error) {
	r := line[len("SIP/2.0 "):]
	if len(r) < 4 || r[3] != ' ' {
		return 0, errStatusLine
	}
	if r[0] < '1' || r[0] > '6' || !isDigit(r[1]) || !isDigit(r[2]) {
		return 0, errStatusLine
	}
	code := int(r[0]-'0')*100 + int(r[1]-'0')*10 + int(r[2]-'0')
	reason := r[4:]
	if !validText(reason) {
		return 0, errStatusLine
	}
	// sipgo tries the request form first: a reason phrase without a space
	// that starts with "SIP"/"sip" would be read as a SIP version.
	if len(reason) >= 3 && bytes.IndexByte(reason, ' ') < 0 &&
		(string(reason[:3]) == "SIP" || string(reason[:3]) == "sip") {
		return 0, errStatusLine
	}
	return code, nil
}

// headerKind maps a header name (or compact form, RFC 3261 §7.3.3) to the
// kinds sipgo parses.
func headerKind(name []byte) int {
	if len(name) == 1 {
		switch name[0] | 0x20 {
		case 'v':
			return hVia
		case 'f':
			return hFrom
		case 't':
			return hTo
		case 'i':
			return hCallID
		case 'm':
			return hContact
		case 'l':
			return hContentLength
		case 'c':
			return hContentType
		}
		return hOther
	}
	switch len(name) {
	case 2:
		if eqFold(name, "to") {
			return hTo
		}
	case 3:
		if eqFold(name, "via") {
			return hVia
		}
	case 4:
		if eqFold(name, "from") {
			return hFrom
		}
		if eqFold(name, "cseq") {
			return hCSeq
		}
	case 5:
		if eqFold(name, "route") {
			return hRoute
		}
	case 7:
		if eqFold(name, "call-id") {
			return hCallID
		}
		if eqFold(name, "contact") {
			return hContact
		}
	case 8:
		if eqFold(name, "refer-to") {
			return hReferTo
		}
	case 11:
		if eqFold(name, "referred-by") {
			return hReferredBy
		}
	case 12:
		if eqFold(name, "max-forwards") {
			return hMaxForwards
		}
		if eqFold(name, "content-type") {
			return hContentType
		}
		if eqFold(name, "record-route") {
			return hRecordRoute
		}
	case 14:
		if eqFold(name, "content-length") {
			return hContentLength
		}
	}
	return hOther
}

// parseCSeq checks CSeq = 1*DIGIT LWS Method (RFC 3261 §20.16), with the
// number at most 2**31-1 and exactly one SP or HTAB, as sipgo splits it.
func parseCSeq(v []byte) (uint32, []byte, bool) {
	i := 0
	for i < len(v) && isDigit(v[i]) {
		i++
	}
	if i == 0 || i > 10 || i+1 >= len(v) || (v[i] != ' ' && v[i] != '\t') {
		return 0, nil, false
	}
	var n uint64
	for _, c := range v[:i] {
		n = n*10 + uint64(c-'0')
	}
	if n > 1<<31-1 {
		return 0, nil, false
	}
	m := v[i+1:]
	if !allToken(m) {
		return 0, nil, false
	}
	return uint32(n), m, true
}

// parseDigits parses 1*DIGIT of at most maxLen digits.
func parseDigits(v []byte, maxLen int) (int, bool) {
	if len(v) == 0 || len(v) > maxLen {
		return 0, false
	}
	n := 0
	for _, c := range v {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// methodString returns common methods without allocating.
func methodString(m []byte) string {
	switch string(m) {
	case "REGISTER":
		return "REGISTER"
	case "INVITE":
		return "INVITE"
	case "ACK":
		return "ACK"
	case "BYE":
		return "BYE"
	case "CANCEL":
		return "CANCEL"
	case "OPTIONS":
		return "OPTIONS"
	case "SUBSCRIBE":
		return "SUBSCRIBE"
	case "NOTIFY":
		return "NOTIFY"
	case "PUBLISH":
		return "PUBLISH"
	case "MESSAGE":
		return "MESSAGE"
	case "INFO":
		return "INFO"
	case "PRACK":
		return "PRACK"
	case "UPDATE":
		return "UPDATE"
	case "REFER":
		return "REFER"
	}
	return string(m)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlpha(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }

func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }

func isHex(c byte) bool { return isDigit(c) || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F') }

// tokenTab marks RFC 3261 §25.1 token characters:
// alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~".
var tokenTab = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = isAlnum(byte(c))
	}
	for _, c := range []byte("-.!%*_+`'~") {
		t[c] = true
	}
	return t
}()

func allToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenTab[c] {
			return false
		}
	}
	return true
}

// allVisible reports whether b is printable ASCII without spaces.
func allVisible(b []byte) bool {
	for _, c := range b {
		if c <= 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// validValue is validText, except that inside a quoted-string (one that is
// closed) a quoted-pair may escape any octet but CR and LF (RFC 3261 §25.1:
// quoted-pair = "\\" (%x00-09 / %x0B-0C / %x0E-7F)), as RFC 4475 §3.1.1.2
// exercises. Outside closed quoted-strings no control octet passes.
func validValue(b []byte) bool {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '"' {
			if end, ok := quotedEnd(b, i); ok {
				for j := i + 1; j < end-1; j++ {
					switch d := b[j]; {
					case d == '\\':
						j++
						if b[j] == '\r' || b[j] == '\n' {
							return false
						}
					case (d < 0x20 && d != '\t') || d == 0x7f:
						return false
					}
				}
				i = end - 1
				continue
			}
		}
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// validText allows HTAB, SP..~ and UTF-8 bytes; no other control characters.
func validText(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func trimWSP(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return trimRightWSP(b)
}

func trimRightWSP(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func skipWSP(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

// eqFold compares b with the lower-case ASCII string s ignoring case.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
