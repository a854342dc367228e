// Package dtmf owns telephone events: the digits of SIP INFO DTMF bodies
// (application/dtmf-relay, application/dtmf) and the RTP payload of RFC
// 4733 that carries them in the media.
//
// ParseInfo reads an INFO body; Plan lays out the packets that signal one
// event (the first with the marker bit, updates, three end packets, RFC
// 4733 §2.5); Payload writes one packet's payload (RFC 4733 §2.3). The relay
// (media/relay inject.go) puts them on a stream's SSRC and timeline.
package dtmf
