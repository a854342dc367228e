package storetest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

// Crash test tuning: the parent kills the child after it has reported
// crashAfter commits, or after crashDeadline, whichever comes first.
const (
	crashAfter    = 400
	crashDeadline = 20 * time.Second
	crashWriters  = 8
)

// testCrash checks that what the Writer reported committed survives the
// process being killed with SIGKILL in the middle of a stream of commits. It
// re-runs the test binary as a child that applies bindings and prints
// "committed N" after each Apply returns.
func testCrash(t *testing.T, open Opener) {
	if os.Getenv(envCrashChild) != "" {
		crashChild(t, open)
		return
	}
	if runtime.GOOS == "windows" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("needs a killable child process")
	}
	dir := Dir(t)
	exe, err := os.Executable()
	if err != nil {
		t.Skipf("cannot find the test binary: %v", err)
	}
	cmd := exec.Command(exe, "-test.run="+runPattern(t.Name()), "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), envCrashChild+"=1", envCrashDir+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	timer := time.AfterFunc(crashDeadline, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()

	// Read every line the child wrote; lines written before the kill stay
	// readable in the pipe after it.
	committed := map[int]bool{}
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		n, ok := strings.CutPrefix(sc.Text(), "committed ")
		if !ok {
			continue
		}
		id, err := strconv.Atoi(n)
		if err != nil {
			t.Fatalf("child wrote %q", sc.Text())
		}
		committed[id] = true
		if !killed && len(committed) >= crashAfter {
			killed = true
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatalf("kill child: %v", err)
			}
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != -1 { // -1: ended by a signal
		t.Fatalf("child was not killed mid-stream (wait: %v); stderr:\n%s", err, stderr.String())
	}
	if len(committed) == 0 {
		t.Fatalf("child committed nothing before the kill; stderr:\n%s", stderr.String())
	}

	s := open(t)
	present := map[string]bool{}
	for _, b := range mustBindings(t, s) {
		present[b.AOR] = true
	}
	missing := 0
	for id := range committed {
		if !present[crashAOR(id)] {
			missing++
			if missing <= 10 {
				t.Errorf("binding %s was reported committed but is gone after the kill", crashAOR(id))
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d committed bindings lost", missing, len(committed))
	}
	t.Logf("killed after %d reported commits; %d bindings in the store", len(committed), len(present))
}

// crashChild is the child's side: apply until killed.
func crashChild(t *testing.T, open Opener) {
	s := open(t)
	w := store.NewWriter(s, store.WriterOptions{})
	var (
		next atomic.Int64
		mu   sync.Mutex // one line per write
	)
	ctx := context.Background()
	for range crashWriters {
		go func() {
			for {
				id := int(next.Add(1))
				b := binding(crashAOR(id), "sip:crash@192.0.2.1:5060")
				b.Path = []string{"<sip:edge.example.com;lr>"}
				if err := w.Apply(ctx, store.PutBinding(b)); err != nil {
					fmt.Fprintf(os.Stderr, "apply %d: %v\n", id, err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "committed %d\n", id)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(crashDeadline + 10*time.Second) // the parent kills us long before
	fmt.Fprintln(os.Stderr, "crash child: never killed")
	os.Exit(4)
}

func crashAOR(id int) string { return "crash" + strconv.Itoa(id) + "@example.com" }

// runPattern returns a -test.run pattern matching exactly the test name.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}
