package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLadderCaptureCost measures what the capture costs a call: the
// gateway's CPU time (user+system, from /proc) per call through the B2BUA
// (SIPp caller with proxy auth → gateway → SIPp UAS) with the ladder and
// the HEP mirror on, against the anchor: the same calls with both off.
// Rounds alternate the order; it prints the medians and their ratio. CPU
// time, not calls per second: on a shared machine the wall clock says
// more about the neighbours. Opt-in (it takes a minute):
//
//	LADDER_BENCH=1 go test -run TestLadderCaptureCost -v ./lab/e2e/
//
// Environment: LADDER_BENCH_CALLS (per round, 300), LADDER_BENCH_ROUNDS (3),
// LADDER_BENCH_HEP=0 (measure the ladder alone, HEP off).
func TestLadderCaptureCost(t *testing.T) {
	if os.Getenv("LADDER_BENCH") == "" {
		t.Skip("set LADDER_BENCH=1 to measure the capture's cost per call")
	}
	sipp := requireTool(t, "sipp")
	calls, rounds := envInt("LADDER_BENCH_CALLS", 300), envInt("LADDER_BENCH_ROUNDS", 3)
	hep := startHEPCollector(t)
	uasPort := freeUDPPort(t, "127.0.0.2")
	startUAS(t, "call_uas.xml", uasPort)
	modes := map[bool]string{
		false: "ladder: {enabled: false}\n",
		true:  fmt.Sprintf("hep: {enabled: true, collector: \"udp://%s\", id: 4242}\n", hep.pc.LocalAddr()),
	}
	what := "ladder + HEP"
	if os.Getenv("LADDER_BENCH_HEP") == "0" {
		modes[true], what = "", "ladder alone"
	}
	cpu := map[bool][]float64{}
	for r := range rounds {
		for _, on := range []bool{r%2 == 0, r%2 != 0} {
			// No per-user call rate or ringing caps: one SIPp user calls.
			g := startGateway(t, callsConfig(uasPort)+"call_policy: {default_class: unrestricted, max_ringing_per_source: 0}\n"+modes[on])
			before := procCPU(t, g.cmd.Process.Pid)
			ok := runCalls(t, sipp, g.UDP, calls)
			used := procCPU(t, g.cmd.Process.Pid) - before
			g.requireCleanStop()
			if ok < calls*9/10 {
				t.Fatalf("round %d capture=%v: %d of %d calls succeeded\n%s", r, on, ok, calls, tail(g.log.String(), 2000))
			}
			cpu[on] = append(cpu[on], used.Seconds()*1e6/float64(ok))
			t.Logf("round %d capture=%v: %d calls, %.0f µs CPU per call", r, on, ok, cpu[on][len(cpu[on])-1])
		}
	}
	off, on := median(cpu[false]), median(cpu[true])
	t.Logf("gateway CPU per call (median of %d rounds): capture on (%s) %.0f µs, off (anchor) %.0f µs, ratio %.3f", rounds, what, on, off, on/off)
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// procCPU is the process's user+system CPU time (proc(5): utime and stime
// in clock ticks, 100 per second on Linux).
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return time.Duration(u+s) * 10 * time.Millisecond
}

// runCalls places n calls to 2000 (proxy auth, short) and returns how many
// succeeded.
func runCalls(t *testing.T, sipp, target string, n int) int {
	t.Helper()
	dir := t.TempDir()
	inf := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(inf, []byte("SEQUENTIAL\nu1000;[authentication username=u1000 password=secret]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The scenario streams this (μ-law) after the answer.
	if err := os.WriteFile(filepath.Join(dir, "tone.ulaw"), bytes.Repeat([]byte{0x7f, 0xff, 0x7f, 0x00}, 2000), 0o600); err != nil {
		t.Fatal(err)
	}
	port, media, ctrl := freeSIPpPorts(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sipp, "-sf", filepath.Join(sippDir(t), "call_uac_auth.xml"), "-inf", inf, target, "-s", "2000",
		"-auth_uri", "2000@example.com", "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mp", strconv.Itoa(media),
		"-cp", strconv.Itoa(ctrl), "-m", strconv.Itoa(n), "-r", "100", "-l", "100", "-d", "10", "-nostdin",
		"-timeout", "120s", "-trace_stat", "-stf", filepath.Join(dir, "stat.csv"))
	cmd.Dir = dir
	out, _ := combinedOutputChild(cmd)
	b, err := os.ReadFile(filepath.Join(dir, "stat.csv"))
	if err != nil {
		t.Fatalf("sipp: %v\n%s", err, tail(string(out), 2000))
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	head, last := strings.Split(lines[0], ";"), strings.Split(lines[len(lines)-1], ";")
	for i, h := range head {
		if h == "SuccessfulCall(C)" && i < len(last) {
			ok, _ := strconv.Atoi(last[i])
			return ok
		}
	}
	t.Fatalf("no SuccessfulCall(C) in sipp's statistics:\n%s", lines[0])
	return 0
}
