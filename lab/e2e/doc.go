// Package e2e is Switchboard's end-to-end suite. It builds the switchboard
// binary once, starts it as a separate process on loopback addresses with
// kernel-chosen ports, and drives it the way users and their phones do:
//
//   - SIPp registers with digest authentication over UDP, TCP and TLS
//   - a retransmitted REGISTER gets the same answer; replayed credentials a new challenge
//     (scenarios in lab/sipp), including 423 Interval Too Brief;
//   - baresip registers over UDP and TLS;
//   - a Go WebSocket client registers over WS and WSS (RFC 7118) and checks
//     pings, binary frames and CRLF keepalives;
//   - kill -9 and a restart keep every binding answered 200;
//   - bad input (malformed, oversize, garbage, floods, password guessing)
//     gets the documented answer or none, and the process survives it;
//   - attacks on digest and bans from other loopback addresses (spoofed
//     failures, the trunk's address, scanners, replayed nonce counts, a
//     digest uri of another request, Path from a stranger) fail;
//   - OPTIONS and unknown methods get 200/405/501;
//   - the command line: check-config, users import/list/add/delete, bans,
//     version.
//
// Every test looks at what an operator would check: SIP status codes, the
// bindings and bans the admin API shows, the CLI output, a clean exit on
// SIGTERM. The tests live in _test.go files; see README.md.
package e2e
