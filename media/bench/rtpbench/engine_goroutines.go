//go:build linux && relaygoroutines

package main

// relayEngine names the relay's I/O engine in this build (media/relay
// io_goroutine.go, selected by the relaygoroutines tag).
const relayEngine = "goroutine-per-socket engine"
