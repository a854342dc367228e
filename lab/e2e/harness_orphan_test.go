package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	// envReuseBinary names the switchboard binary a sub-process of the
	// suite uses instead of building its own.
	envReuseBinary = "E2E_SWITCHBOARD_BINARY"
	// envOrphanChild runs TestHarnessChildrenDieWithIt as the sub-process
	// to be killed.
	envOrphanChild = "E2E_ORPHAN_CHILD"
	orphanReady    = "orphan-child-ready"
)

// TestHarnessChildrenDieWithIt: a test binary killed with SIGKILL (go
// test's -timeout ends in one, so does a cancelled CI job) leaves none of
// the processes its harness started behind: the gateway, a SIPp, a plain
// command (startChild) and Chromium (chromedp's allocator) all die with it.
// An orphaned gateway from a killed run kept its ports and CPU in session
// 9. The test runs itself as a sub-process that starts them and waits,
// lists every descendant of that sub-process, kills it with SIGKILL and
// requires every one of them gone (a zombie nobody reaps counts as gone)
// within 20 s.
func TestHarnessChildrenDieWithIt(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux's")
	}
	if os.Getenv(envOrphanChild) != "" {
		orphanChild(t)
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	cmd := exec.Command(exe, "-test.run=^TestHarnessChildrenDieWithIt$", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), envOrphanChild+"=1", envReuseBinary+"="+binPath, "TMPDIR="+tmp)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr logBuffer
	cmd.Stderr = &stderr
	// Not startChild: this test kills the sub-process itself.
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out logBuffer
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		said := false
		for sc.Scan() {
			fmt.Fprintln(&out, sc.Text())
			if !said && strings.TrimSpace(sc.Text()) == orphanReady {
				said = true
				ready <- true
			}
		}
		if !said {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("the sub-process ended before it was ready:\n%s\n%s", out.String(), stderr.String())
		}
	case <-time.After(3 * time.Minute):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the sub-process not ready within 3 min:\n%s\n%s", out.String(), stderr.String())
	}

	kids := descendants(cmd.Process.Pid)
	names := map[int]string{}
	for _, pid := range kids {
		names[pid] = procName(pid)
	}
	// SIPp is started too and checked when it runs, but not required: a
	// SIPp UAS in the sub-process sometimes ended by itself within
	// milliseconds (exit 97, "Test Terminated"; not understood).
	for _, want := range []string{"switchboard", "sleep", "chrom"} {
		if !slices.ContainsFunc(kids, func(pid int) bool { return strings.Contains(names[pid], want) }) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("no %s among the sub-process's children %v:\n%s", want, names, out.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	var alive []int
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		alive = alive[:0]
		for _, pid := range kids {
			if running(pid) && procName(pid) == names[pid] { // not a new process on a reused pid
				alive = append(alive, pid)
			}
		}
		if len(alive) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(alive) > 0 {
		var left []string
		for _, pid := range alive {
			left = append(left, fmt.Sprintf("%d %s", pid, names[pid]))
			_ = syscall.Kill(pid, syscall.SIGKILL) // the next tests need their ports and CPU
		}
		t.Fatalf("%d of the %d processes the killed test binary started outlived it: %s", len(alive), len(kids), strings.Join(left, ", "))
	}
	t.Logf("the %d processes under the killed test binary died with it: %v", len(kids), names)
}

// orphanChild is the sub-process's part: it starts a gateway, a SIPp UAS,
// a sleep and a browser the way tests do, says it is ready, and waits to
// be killed.
func orphanChild(t *testing.T) {
	g := startGateway(t, "")
	startUAS(t, "call_uas.xml", freeUDPPort(t, "127.0.0.2"), "-rtp_echo")
	if _, err := startChild(exec.Command("sleep", "600")); err != nil {
		t.Fatal(err)
	}
	startBrowser(t)
	g.requireAlive()
	fmt.Println(orphanReady)
	time.Sleep(5 * time.Minute) // the parent kills this process long before
}

// descendants lists the processes below pid (children, theirs, ...), from
// /proc.
func descendants(root int) []int {
	parent := map[int]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		pid, err1 := strconv.Atoi(strings.Fields(s)[0])
		if len(fields) < 2 || err1 != nil {
			continue
		}
		ppid, err := strconv.Atoi(fields[1])
		if err == nil {
			parent[pid] = ppid
		}
	}
	var out []int
	for pid := range parent {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == root {
				out = append(out, pid)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// procName is the command a process runs (its first argument's base name).
func procName(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return "?"
	}
	arg0, _, _ := strings.Cut(string(b), "\x00")
	name := filepath.Base(arg0)
	if len(name) > 24 {
		name = name[:24] // Chromium's helpers rewrite their command line into one long string
	}
	return name
}

// running reports whether pid exists and is not a zombie.
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}

// TestBound: bound sees a UDP socket and a listening TCP socket on an
// address, and nothing once they are closed (waitBound's probe, which must
// not bind the port itself).
func TestBound(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	up := pc.LocalAddr().(*net.UDPAddr).Port
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := ln.Addr().(*net.TCPAddr).Port
	for _, tt := range []struct {
		what string
		host string
		port int
		want bool
	}{
		{"udp", "127.0.0.2", up, true},
		{"tcp", "127.0.0.2", tp, true},
		{"udp, another address", "127.0.0.3", up, false},
	} {
		if got := bound(tt.host, tt.port); got != tt.want {
			t.Errorf("%s: bound(%s, %d) = %v, want %v", tt.what, tt.host, tt.port, got, tt.want)
		}
	}
	pc.Close()
	ln.Close()
	if bound("127.0.0.2", up) || bound("127.0.0.2", tp) {
		t.Error("bound after close")
	}
}
