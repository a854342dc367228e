// Package plugins is the host side of Switchboard's CTI drivers: the driver
// protocol seen as a plain Go interface ([Driver]), the go-plugin glue both
// sides share ([Handshake], [PluginMap]), and the [Supervisor] that launches
// a driver process, health-checks it, restarts it with backoff when it dies
// or hangs, restores its monitors and hands consumers one ordered event
// channel per driver.
//
// The wire contract is plugins/proto/driver.proto (package
// switchboard.driver.v1). gRPC appears only in grpc.go, the shim; everything
// else, on both sides, uses the Go types of this package. Driver authors do
// not import go-plugin: they implement the smaller interface of package
// plugins/sdk and call sdk.Serve.
package plugins
