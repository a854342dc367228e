// Package webrtc terminates a browser's media leg (ICE, DTLS-SRTP, RFC 8829
// JSEP offer/answer as carried in SIP, RFC 7118) in a pion PeerConnection and
// bridges it to plain RTP towards the relay (media/relay), so the rest of
// the B2BUA sees a browser as one more RTP phone.
//
// A Leg has two faces. Towards the browser: a PeerConnection on the
// Engine's one UDP port (pion's ICE UDP mux), ICE-lite (RFC 8445 §2.5: the
// gateway answers connectivity checks and never sends its own; the browser,
// a full agent, is controlling and nominates), host candidates on the
// configured public addresses, rtcp-mux (RFC 5761) and BUNDLE (RFC 9143),
// DTLS-SRTP (RFC 5764) with the DTLS role of RFC 8842 §5.3 (an answer to
// actpass is active; our own offers say actpass). Towards the relay: one UDP
// socket that plays a plain RTP phone (RTP/AVP, RTCP on the same port per
// RFC 3605 a=rtcp), whose SDP the B2BUA relays like any other.
//
// Later offers on an established leg (hold, resume, session refreshes; RFC
// 3264 §8) keep the ICE and DTLS of the first one and change only the
// direction (renegotiate.go): Leg.Reoffer and Leg.Reanswer for a browser's,
// Leg.OfferAgain and Leg.AcceptAgain for the gateway's.
//
// Payloads are never transcoded: the leg passes G.711 (PCMU, PCMA), Opus and
// telephone-event (RFC 4733) through, so a call works when both legs share a
// codec. Consent freshness (RFC 7675): a browser that stops answering for
// Config.ConsentTimeout ends its leg (Leg.Done), which ends the call.
package webrtc
