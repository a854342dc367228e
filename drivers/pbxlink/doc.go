// Package pbxlink is what every CTI driver does with its link to the PBX,
// whatever the protocol: keep it up (connect, serve, reconnect with
// backoff: [Loop]), queue what it delivers in order for one processor
// ([Queue], bounded by a [Bound]: events past it are dropped and the
// processor told of the gap in order), track its state in that order so
// link_down and link_up reach the host once per outage ([State]), and
// restore the monitors on a new link a few at a time ([Parallel]).
//
// What a link is (a CSTA session over TCP, an Xsi event channel over
// HTTP) stays in the vendor's driver: it hands Loop the functions that
// connect, serve and forget one.
package pbxlink
