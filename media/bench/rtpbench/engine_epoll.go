//go:build linux && !relaygoroutines

package main

// relayEngine names the relay's I/O engine in this build (media/relay
// io_linux.go).
const relayEngine = "epoll engine"
