//go:build linux

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Where the kernel dropped datagrams: /proc/net/udp has, for every UDP
// socket of the machine, its inode, local and remote address, receive
// queue and "drops" (datagrams refused because its receive buffer was
// full: the machine-wide Udp RcvbufErrors, per socket). Taking the
// sockets of the gateway side and of this process by their inodes
// (/proc/PID/fd) tells whose socket overflowed, which the machine-wide
// counter cannot: other processes' sockets are left out.

// udpSock is one line of /proc/net/udp.
type udpSock struct {
	port      uint16
	connected bool   // a remote address: the browsers' raw sockets
	rxQueue   uint64 // bytes queued (skb truesize) at the time
	drops     uint64
}

// sockClass names the socket groups -v reports.
type sockClass int

const (
	classGwICE      sockClass = iota // the gateway's one ICE/SRTP socket
	classGwRelay                     // the relay's sockets (port range)
	classGwBridge                    // the legs' own bridge sockets (unused when attached)
	classBrowser                     // a browser's raw socket connected to the gateway
	classBrowserMux                  // a browser's Mux socket (pion's ICE and DTLS)
	classPlain                       // the plain endpoints' sockets
	classOther
	nClasses
)

var classNames = [nClasses]string{"gateway ICE socket", "gateway relay sockets", "gateway leg bridge sockets",
	"browsers' connected sockets", "browsers' Mux sockets", "plain endpoints' sockets", "other"}

// sockTally is one snapshot, per class: datagrams dropped so far, the
// largest receive queue, the sockets counted.
type sockTally struct {
	drops   [nClasses]uint64
	maxRxQ  [nClasses]uint64
	sockets [nClasses]int
}

// readUDPSockets parses /proc/net/udp into inode -> socket.
func readUDPSockets() (map[uint64]udpSock, error) {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return nil, err
	}
	out := map[uint64]udpSock{}
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) < 13 {
			continue
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil || inode == 0 {
			continue
		}
		var s udpSock
		if i := strings.IndexByte(f[1], ':'); i >= 0 {
			p, _ := strconv.ParseUint(f[1][i+1:], 16, 16)
			s.port = uint16(p)
		}
		if i := strings.IndexByte(f[2], ':'); i >= 0 {
			s.connected = f[2][i+1:] != "0000"
		}
		if i := strings.IndexByte(f[4], ':'); i >= 0 {
			s.rxQueue, _ = strconv.ParseUint(f[4][i+1:], 16, 64)
		}
		s.drops, _ = strconv.ParseUint(f[12], 10, 64)
		out[inode] = s
	}
	return out, nil
}

// socketInodes returns the inodes of the sockets process pid holds.
func socketInodes(pid int) map[uint64]bool {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	out := map[uint64]bool{}
	for _, e := range ents {
		t, err := os.Readlink(dir + "/" + e.Name())
		if err != nil || !strings.HasPrefix(t, "socket:[") {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSuffix(t[len("socket:["):], "]"), 10, 64); err == nil {
			out[n] = true
		}
	}
	return out
}

// tallySockets classifies the UDP sockets of the gateway side (gwPid)
// and of this process.
func tallySockets(gwPid int, icePort uint16, portMin, portMax int, plainPorts map[uint16]bool) sockTally {
	var t sockTally
	all, err := readUDPSockets()
	if err != nil {
		return t
	}
	add := func(c sockClass, s udpSock) {
		t.drops[c] += s.drops
		t.maxRxQ[c] = max(t.maxRxQ[c], s.rxQueue)
		t.sockets[c]++
	}
	for inode := range socketInodes(gwPid) {
		s, ok := all[inode]
		if !ok {
			continue
		}
		switch {
		case s.port == icePort:
			add(classGwICE, s)
		case int(s.port) >= portMin && int(s.port) <= portMax:
			add(classGwRelay, s)
		default:
			add(classGwBridge, s)
		}
	}
	for inode := range socketInodes(os.Getpid()) {
		s, ok := all[inode]
		if !ok {
			continue
		}
		_, browser := browserPorts.Load(int(s.port))
		switch {
		case plainPorts[s.port]:
			add(classPlain, s)
		case browser && s.connected:
			add(classBrowser, s)
		case browser:
			add(classBrowserMux, s)
		default:
			add(classOther, s)
		}
	}
	return t
}

// printSockets prints, per class, the drops between a and b and the
// largest receive queue seen at b.
func printSockets(a, b sockTally) {
	var parts []string
	for c := range nClasses {
		if b.sockets[c] == 0 {
			continue
		}
		d := uint64(0)
		if b.drops[c] >= a.drops[c] {
			d = b.drops[c] - a.drops[c]
		}
		parts = append(parts, fmt.Sprintf("%s (%d): %d dropped, largest queue %d KiB", classNames[c], b.sockets[c], d, b.maxRxQ[c]/1024))
	}
	fmt.Printf("  [window] kernel receive-buffer drops per socket group (/proc/net/udp): %s\n", strings.Join(parts, "; "))
}
