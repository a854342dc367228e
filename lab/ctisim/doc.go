// Package ctisim is what the lab's PBX simulators (lab/mitel, lab/avaya,
// lab/cisco) share: the simulated phones and calls they act on, the fault
// hooks tests drive, and the TLS certificate a simulator serves. What a
// PBX says on the wire (CSTA XML, DMCC, Xsi) stays in the simulator of
// that vendor.
package ctisim
