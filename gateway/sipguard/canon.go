package sipguard

import "errors"

// This file rewrites well-formed messages that sipgo cannot read into the
// plain form it can. RFC 3261 allows linear whitespace, folded lines and
// "name  :" separators almost anywhere (§7.3.1, §25.1: SEMI, EQUAL, SLASH,
// COMMA and HCOLON all carry SWS); sipgo's header parsers expect none of it
// inside Via, addresses and CSeq. RFC 4475 §3.1.1.1 is such a message.

// structured reports whether kind is a header whose value Canonical may
// squeeze: one whose grammar allows LWS around its separators and that
// sipgo parses. Other headers are only unfolded: their values stay as sent.
func structured(kind int) bool {
	switch kind {
	case hVia, hFrom, hTo, hContact, hRoute, hRecordRoute, hReferTo, hReferredBy, hCSeq:
		return true
	}
	return false
}

// Canonical returns msg with its header section rewritten as RFC 3261
// §7.3.1 allows: folded lines joined with one SP, "name: value" with no
// whitespace before the colon, and in the structured headers (Via, From,
// To, Contact, Route, Record-Route, Refer-To, Referred-By, CSeq) no LWS
// around ";", "=", "/" and ",", and single SPs elsewhere, outside quoted
// strings and <>. The start line and the body are kept as they are. It
// reports false when msg has no well-formed header section to rewrite.
func Canonical(msg []byte) ([]byte, bool) {
	if len(msg) > MaxSIPMessage {
		return nil, false
	}
	line, pos, err := nextLine(msg, 0)
	if err != nil {
		return nil, false
	}
	out := make([]byte, 0, len(msg))
	out = append(out, line...)
	out = append(out, "\r\n"...)
	var val []byte
	for {
		line, next, err := nextLine(msg, pos)
		if err != nil {
			return nil, false
		}
		if len(line) == 0 {
			out = append(out, "\r\n"...)
			return append(out, msg[next:]...), true
		}
		if line[0] == ' ' || line[0] == '\t' {
			return nil, false
		}
		val = append(val[:0], line...)
		end := next
		for end < len(msg) && (msg[end] == ' ' || msg[end] == '\t') {
			cont, n2, err := nextLine(msg, end)
			if err != nil {
				return nil, false
			}
			val = append(trimRightWSP(val), ' ')
			val = append(val, trimWSP(cont)...)
			end = n2
		}
		pos = end
		colon := -1
		for i, c := range val {
			if c == ':' {
				colon = i
				break
			}
		}
		if colon <= 0 {
			return nil, false
		}
		name := trimRightWSP(val[:colon])
		value := trimWSP(val[colon+1:])
		out = append(out, name...)
		out = append(out, ": "...)
		if structured(headerKind(name)) {
			out = squeeze(out, value)
		} else {
			out = append(out, value...)
		}
		out = append(out, "\r\n"...)
	}
}

// squeeze appends v to out without the LWS the separators allow
// (RFC 3261 §25.1 SEMI, EQUAL, SLASH, COMMA, HCOLON) and with every other
// run of LWS as one SP; quoted strings and <>-enclosed URIs are copied as
// they are. A comma is written ", " as sipgo splits lists.
func squeeze(out, v []byte) []byte {
	sep := func(c byte) bool { return c == ';' || c == '=' || c == '/' || c == ',' || c == ':' }
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"':
			j, ok := quotedEnd(v, i)
			if !ok {
				return append(out, v[i:]...) // Check will refuse it
			}
			out = append(out, v[i:j]...)
			i = j - 1
		case c == '<':
			j := i
			for j < len(v) && v[j] != '>' {
				j++
			}
			if j < len(v) {
				j++
			}
			out = append(out, v[i:j]...)
			i = j - 1
		case c == ' ' || c == '\t':
			j := skipWSP(v, i)
			prev := byte(0)
			if len(out) > 0 {
				prev = out[len(out)-1]
			}
			if j < len(v) && !sep(v[j]) && !sep(prev) {
				out = append(out, ' ')
			}
			i = j - 1
		case c == ',':
			out = append(out, ", "...)
			i = skipWSP(v, i+1) - 1
		default:
			out = append(out, c)
		}
	}
	return out
}

// quotedEnd returns the offset after the quoted-string starting at
// v[i] == '"', honouring quoted-pairs.
func quotedEnd(v []byte, i int) (int, bool) {
	for i++; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			return i + 1, true
		}
	}
	return 0, false
}

// CheckCanonical is Check, except that a message Check finds malformed is
// rewritten by Canonical and checked again: when the rewrite passes, it is
// returned with its Head, to be handed to sipgo instead of msg. Otherwise
// msg and Check's verdict on it are returned.
func CheckCanonical(msg []byte) ([]byte, Head, error) {
	h, err := Check(msg)
	if err == nil || !errors.Is(err, ErrMalformed) {
		return msg, h, err
	}
	c, ok := Canonical(msg)
	if !ok {
		return msg, h, err
	}
	h2, err2 := Check(c)
	if err2 != nil {
		return msg, h, err
	}
	return c, h2, nil
}
