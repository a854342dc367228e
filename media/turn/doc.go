// Package turn runs the gateway's STUN (RFC 8489) and TURN (RFC 8656)
// server on top of github.com/pion/turn/v5: listeners on UDP, TCP and TLS,
// TURN REST API credentials (a shared secret, as coturn's use-auth-secret)
// and static users, per-user and total allocation quotas, a bandwidth cap
// per allocation, peer filtering that denies internal addresses by default
// (the CVE-2020-26262 class), per-source flood limits, counters for
// Prometheus and a listing of the live allocations.
//
// pion/turn parses and answers the STUN/TURN messages; this package owns
// the policy around it: who may authenticate, which peers may be reached,
// how much one user and one allocation may take, and what a source may send.
package turn
