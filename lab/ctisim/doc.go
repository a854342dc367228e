// Package ctisim is what the lab's PBX simulators (lab/mitel, lab/avaya,
// lab/cisco) share: the CSTA-over-TCP connection of a simulated switch
// (framing, write queue, read loop, stuck-link faults, [Conn]), the
// malformed documents tests send, the TLS certificate a simulator serves
// ([SelfSigned]) and the command-line helpers of the simulator commands.
// What a PBX says on the wire and the calls it simulates (CSTA XML,
// DMCC, Xsi) stay in the simulator of that vendor.
package ctisim
