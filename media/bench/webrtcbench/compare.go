//go:build linux

package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/switchboard-gw/switchboard/media/udpbatch"
)

// uringOff (-uring-off) adds this build's fast path with io_uring off in
// the gateway side to -compare.
var uringOff = flag.Bool("uring-off", false, "-compare: also run this build's gateway side with io_uring off ("+udpbatch.EnvVar+"=off in its environment only)")

// anchorRun (-anchor=false) leaves the slow path out of -compare: at
// N where it cannot keep up it only loads the machine for minutes; the
// first variant left is then the reference of the ratios.
var anchorRun = flag.Bool("anchor", true, "-compare: run the slow path (the anchor); false: only -base and this build, ratios to the first")

// oneReader adds this build with one ICE socket (webrtc.Config.ICEReaders
// 1, as before the SO_REUSEPORT readers) to -compare.
var oneReader = flag.Bool("one-reader", false, "-compare: also run this build's fast path with one ICE socket (ICEReaders 1)")

// variant is one gateway side of -compare.
type variant struct {
	name string
	slow bool   // webrtc.Config.SlowPath
	exe  string // the child's binary; "" is this one
	env  []string
}

// compareRuns runs N calls on each variant, alternated (in reverse order
// every other round: A B B A), rounds times: the slow path (the anchor,
// unless -anchor=false), the fast path of base (an older webrtcbench,
// when given), and this binary's fast path, with the same generator (this
// process) for all; then the median of each and the ratios.
func compareRuns(n, rounds int, base string, p params) {
	var vs []variant
	if *anchorRun {
		vs = append(vs, variant{name: "slow path (anchor: pion carries every SRTP packet, webrtc.Config.SlowPath)", slow: true})
	}
	if base != "" {
		vs = append(vs, variant{name: "fast path of " + base + " (the older build)", exe: base})
	}
	if *uringOff {
		vs = append(vs, variant{name: "fast path (this build), io_uring off (" + udpbatch.EnvVar + "=off)", env: []string{udpbatch.EnvVar + "=off"}})
	}
	if *oneReader {
		vs = append(vs, variant{name: "fast path (this build), one ICE socket (" + iceReadersEnv + "=1)", env: []string{iceReadersEnv + "=1"}})
	}
	vs = append(vs, variant{name: "fast path (this build)"})
	res := make([][]result, len(vs))
	for r := range max(rounds, 1) {
		order := make([]int, len(vs))
		for i := range order {
			order[i] = i
			if r%2 == 1 { // A B, B A, A B ...: neither variant always runs first
				order[i] = len(vs) - 1 - i
			}
		}
		for _, i := range order {
			v := vs[i]
			q := p
			q.slow, q.childExe, q.childEnv = v.slow, v.exe, append(append([]string(nil), p.childEnv...), v.env...)
			fmt.Printf("-- round %d: gateway %s; load average %s\n", r+1, v.name, loadavg())
			got, err := run(n, q)
			if err != nil {
				fmt.Fprintln(os.Stderr, "webrtcbench:", err)
				os.Exit(1)
			}
			got.print(p.maxLoss)
			res[i] = append(res[i], got)
		}
	}
	fmt.Printf("== N=%d, %d round(s), medians:\n", n, max(rounds, 1))
	anchor := median(res[0], result.usPerPacket)
	for i, v := range vs {
		us := median(res[i], result.usPerPacket)
		pass := 0
		for _, r := range res[i] {
			if r.pass(p.maxLoss) {
				pass++
			}
		}
		fmt.Printf("%-60.60s %5.1f us per bridged packet (%.2fx the anchor), %4.1f goroutines and %4.0f KiB Go heap per call, loss %.3f / %.3f %%, passed %d of %d\n",
			v.name, us, us/anchor, median(res[i], result.goroutinesPerCall), median(res[i], func(r result) float64 { return r.heapCal / 1024 }),
			100*median(res[i], func(r result) float64 { return loss(r.sentB, r.recvP) }), 100*median(res[i], func(r result) float64 { return loss(r.sentP, r.recvB) }),
			pass, len(res[i]))
	}
	last := median(res[len(vs)-1], result.usPerPacket)
	if base != "" {
		bi := 0
		if *anchorRun {
			bi = 1
		}
		fmt.Printf("this build vs %s: %.2fx the CPU per bridged packet\n", base, last/median(res[bi], result.usPerPacket))
	}
	if *uringOff {
		fmt.Printf("this build vs itself without io_uring: %.2fx the CPU per bridged packet\n", last/median(res[len(vs)-2], result.usPerPacket))
	}
}

func median(rs []result, f func(result) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	switch {
	case len(v) == 0:
		return 0
	case len(v)%2 == 0:
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return v[len(v)/2]
}

// loadavg is the machine's load average (1, 5, 15 minutes).
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
