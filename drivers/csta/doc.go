// Package csta holds the CSTA code the Mitel and Avaya drivers share: the
// ECMA-323 XML messages for the ECMA-269 services and events of Switchboard's
// one CTI model, the ECMA-354 application session messages, the CSTA-over-TCP
// framing (an 8-byte header before each XML document) and a small client that
// matches responses to requests by invoke ID.
//
// Parsing goes by local name, so a message parses the same whether it comes
// in the default namespace (Avaya DMCC, ed3) or with a csta: prefix (Mitel
// MiVoice Office 400, ed5). Encoding emits the namespace the caller asks for
// (see Edition). Unknown root elements decode to *RawMessage, never an error.
//
// Everything read from the wire is treated as hostile: frames and documents
// have size limits, nesting has a depth limit, DOCTYPEs are refused and
// invalid UTF-8 is an error.
//
// Standards: ECMA-269 (services and events), ECMA-323 (their XML),
// ECMA-354 (application session), all free at https://www.ecma-international.org/.
// Element names marked "~" in comments come from one source only (or are
// inferred) and should be checked against the ECMA-323 XSDs.
package csta
