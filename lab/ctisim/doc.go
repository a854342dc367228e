// Package ctisim is what the lab's PBX simulators (lab/mitel, lab/avaya,
// lab/cisco) share: the CSTA-over-TCP connection of a simulated switch
// (framing, write queue, read loop, stuck-link faults, [Conn]), the
// malformed documents tests send, the TLS certificate a simulator serves
// ([SelfSigned]), the command-line helpers of the simulator commands, and
// the plain call model of the CSTA simulators ([Call], [Party], [Result],
// the CSTA error answers), and the call flows both CSTA simulators run
// alike: answer, clear, hold, retrieve ([Wire]), hunt groups and their
// queues ([Hunt]), the lines a device uses ([InCalls]), the truth lamps
// are checked against ([CallsAt]) and the switch's own SystemStatus
// requests ([SendSystemStatus]). Its subpackages are the simulators' own wire
// encoding, shared with no driver: cstaxml (the CSTA-over-TCP frame,
// ECMA-323 messages and ECMA-354 sessions, written from the standards) and
// xmlcheck (a document checked against the structure it is read into:
// element names, order, namespace, enumerations). What a vendor adds on
// the wire (DMCC's private messages, Xsi) and how its calls unfold (which
// events, in which order, with which device IDs) stay in the simulator of
// that vendor. No lab package may depend on drivers/
// (TestSimulatorsIndependentOfDrivers).
package ctisim
