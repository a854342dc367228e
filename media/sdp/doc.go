// Package sdp holds the offer/answer helpers (RFC 3264) the B2BUA uses on
// the SDP bodies it relays, on top of github.com/pion/sdp/v3 (no SDP parser
// of our own):
//
//   - Parse checks a body and returns pion's SessionDescription;
//   - AudioStream reads the audio stream the relay anchors (address, ports,
//     direction, codecs) and Stream.Remote turns it into a relay.Remote;
//   - Intersect keeps the codecs both sides support (RFC 3264 §6), with
//     telephone-event (RFC 4733);
//   - Rewrite points the body at the relay (c=, m= port, o=) and keeps the
//     direction attributes, so hold works end to end (RFC 3264 §8.4);
//   - CheckAnswer checks an answer against the offer it answers.
//
// Errors are sentinels that the B2BUA answers with 488 Not Acceptable Here;
// Warning gives the Warning header code and text (RFC 3261 §20.43).
package sdp
