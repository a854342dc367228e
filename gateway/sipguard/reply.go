package sipguard

import (
	"bytes"
	"math/rand/v2"
	"strconv"
)

// Status codes the guard answers itself.
const (
	statusBadRequest = 400 // RFC 3261 §21.4.1
	statusTooLarge   = 513 // RFC 3261 §21.5.14

	statusUnsupportedScheme = 416 // RFC 3261 §21.4.14
	statusVersion           = 505 // RFC 3261 §21.5.6
)

// buildReply builds a response to the raw, possibly malformed request msg
// from its Via (all of them), From, To, Call-ID and CSeq lines (RFC 3261
// §8.2.6). It returns nil when no response may be sent: msg is a response
// or an ACK (RFC 3261 §17), or has no Via to route the answer by.
func buildReply(msg []byte, code int, phrase, serverName string) []byte {
	if len(msg) > MaxSIPMessage {
		msg = msg[:MaxSIPMessage]
	}
	eol := bytes.IndexByte(msg, '\n')
	if eol < 0 {
		return nil
	}
	start := bytes.TrimRight(msg[:eol], "\r")
	if bytes.HasPrefix(start, []byte("SIP/")) || bytes.HasPrefix(start, []byte("ACK ")) {
		return nil
	}
	out := make([]byte, 0, 512)
	out = append(out, "SIP/2.0 "...)
	out = strconv.AppendInt(out, int64(code), 10)
	out = append(out, ' ')
	out = append(out, phrase...)
	out = append(out, "\r\n"...)
	hasVia := false
	hasToTag := false
	toEnd := -1
	pos := eol + 1
	keep := false // whether the current header (and its continuations) is kept
	for pos < len(msg) {
		i := bytes.IndexByte(msg[pos:], '\n')
		var line []byte
		if i < 0 {
			line = msg[pos:]
			pos = len(msg)
		} else {
			line = msg[pos : pos+i]
			pos += i + 1
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			break
		}
		if !validText(line) {
			keep = false
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if keep {
				out = append(out, line...)
				out = append(out, "\r\n"...)
				if toEnd >= 0 {
					toEnd = len(out) - 2
					hasToTag = hasToTag || bytes.Contains(bytes.ToLower(line), []byte("tag="))
				}
			}
			continue
		}
		if toEnd >= 0 && !hasToTag {
			out = insertTag(out, toEnd)
		}
		toEnd = -1
		keep = false
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		switch headerKind(trimRightWSP(line[:colon])) {
		case hVia:
			hasVia = true
			keep = true
		case hFrom, hCallID, hCSeq:
			keep = true
		case hTo:
			keep = true
			hasToTag = bytes.Contains(bytes.ToLower(line[colon:]), []byte("tag="))
			out = append(out, line...)
			out = append(out, "\r\n"...)
			toEnd = len(out) - 2
			continue
		}
		if keep {
			out = append(out, line...)
			out = append(out, "\r\n"...)
		}
	}
	if toEnd >= 0 && !hasToTag {
		out = insertTag(out, toEnd)
	}
	if !hasVia {
		return nil
	}
	if serverName != "" && validText([]byte(serverName)) {
		out = append(out, "Server: "...)
		out = append(out, serverName...)
		out = append(out, "\r\n"...)
	}
	out = append(out, "Content-Length: 0\r\n\r\n"...)
	return out
}

// insertTag adds a To tag at offset at (the CRLF ending the To header):
// a UAS adds one to every final response (RFC 3261 §8.2.6.2).
func insertTag(out []byte, at int) []byte {
	tag := strconv.AppendUint([]byte(";tag=sg"), rand.Uint64(), 36)
	out = append(out, tag...)
	copy(out[at+len(tag):], out[at:len(out)-len(tag)])
	copy(out[at:], tag)
	return out
}

// badRequestPhrase is the reason phrase of a 400 for err.
func badRequestPhrase(err error) string {
	return "Bad Request (" + reasonOf(err) + ")"
}

const tooLargePhrase = "Message Too Large"
