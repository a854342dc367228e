// Package ctisim is what the lab's PBX simulators (lab/mitel, lab/avaya,
// lab/cisco) share: the CSTA-over-TCP connection of a simulated switch
// (framing, write queue, read loop, stuck-link faults, [Conn]), the
// malformed documents tests send, the TLS certificate a simulator serves
// ([SelfSigned]), the command-line helpers of the simulator commands, and
// the plain call model of the CSTA simulators ([Call], [Party], [Result],
// the CSTA error answers). What a PBX says on the wire (CSTA XML, DMCC,
// Xsi) and how its calls unfold (which events, in which order, with which
// device IDs) stay in the simulator of that vendor.
package ctisim
