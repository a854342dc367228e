// Package cstaxml is the lab simulators' own CSTA XML: the 8-byte
// CSTA-over-TCP frame, ECMA-323 message structures and ECMA-354 session
// messages, written from the standards and not from the drivers' code, so
// that a simulator is a witness independent of the driver it tests. A
// wrong element name, namespace or order in a driver is refused here
// instead of being agreed with.
//
// Sources (element names, order and enumerations):
//   - ECMA-323 (XML Protocol for CSTA Phase III), editions 3-6: the
//     schemas' call-control.xsd, device-feature.xsd, monitor.xsd,
//     snapshot.xsd, status-reporting.xsd, call-connection-identifiers.xsd,
//     device-identifiers.xsd, error-definition.xsd, event-cause.xsd.
//   - ECMA-354 (Application Session Services): StartApplicationSession,
//     ResetApplicationSessionTimer, StopApplicationSession and their
//     responses, namespace
//     http://www.ecma-international.org/standards/ecma-354/appl_session.
//   - ECMA TR/88 (Designing an Object Model for ECMA-269) for the call
//     flows the simulators emit.
//
// The decoder is strict where the standards are: the root's namespace
// must be the one its message belongs to (ECMA-354 for sessions, an
// ECMA-323 edition for CSTA, a vendor namespace for vendor messages), and
// every element of the document outside vendor carriers (extensions,
// applicationSpecificInfo, requestedMonitorFilter) must be in the root's
// namespace. Unknown elements are errors, not silently dropped.
package cstaxml
