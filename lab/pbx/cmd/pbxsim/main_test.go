package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/lab/pbx"
)

// lines collects run's stdout and lets the test wait for a line.
type lines struct {
	mu   sync.Mutex
	all  []string
	more chan struct{}
}

func (l *lines) wait(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for i := 0; ; {
		l.mu.Lock()
		for ; i < len(l.all); i++ {
			if m := re.FindStringSubmatch(l.all[i]); m != nil {
				l.mu.Unlock()
				return m
			}
		}
		l.mu.Unlock()
		select {
		case <-l.more:
		case <-deadline:
			t.Fatalf("no line matching %s in %q", re, l.all)
		}
	}
}

func start(t *testing.T, args ...string) *lines {
	t.Helper()
	pr, pw := io.Pipe()
	l := &lines{more: make(chan struct{}, 1)}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			l.mu.Lock()
			l.all = append(l.all, sc.Text())
			l.mu.Unlock()
			select {
			case l.more <- struct{}{}:
			default:
			}
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, pw, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		pw.Close()
	})
	return l
}

// TestCommand runs pbxsim with numbers and the HTTP API, calls it from a
// second simulator, and switches its mode over HTTP.
func TestCommand(t *testing.T) {
	out := start(t, "-listen", "127.0.0.1:0", "-http", "127.0.0.1:0", "-answer", "2000", "-busy", "2486", "-default", "notfound")
	addr := out.wait(t, regexp.MustCompile(`^pbxsim listening udp (\S+)$`))[1]
	api := out.wait(t, regexp.MustCompile(`^pbxsim http (\S+)$`))[1]

	caller, err := pbx.Start(pbx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	var target sip.Uri
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for num, want := range map[string]int{"2000": 200, "2486": 486, "9": 404} {
		if err := sip.ParseUri("sip:"+num+"@"+addr, &target); err != nil {
			t.Fatal(err)
		}
		oc, err := caller.Call(ctx, pbx.CallOptions{Target: target})
		got := 200
		var de *sipgo.ErrDialogResponse
		if errors.As(err, &de) {
			got = de.Res.StatusCode
		} else if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("call %s: %d, want %d", num, got, want)
		}
		if oc != nil {
			_ = oc.Hangup(ctx)
		}
	}
	var calls []pbx.CallInfo
	getJSON(t, "http://"+api+"/calls", &calls)
	if len(calls) != 3 {
		t.Errorf("GET /calls: %d calls, want 3", len(calls))
	}
	req, _ := http.NewRequest(http.MethodPut, "http://"+api+"/mode?m=503", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("PUT /mode: %v %v", res, err)
	}
	res.Body.Close()
	if err := sip.ParseUri("sip:2000@"+addr, &target); err != nil {
		t.Fatal(err)
	}
	_, err = caller.Call(ctx, pbx.CallOptions{Target: target})
	var de *sipgo.ErrDialogResponse
	if !errors.As(err, &de) || de.Res.StatusCode != 503 {
		t.Errorf("call in 503 mode: %v", err)
	}
	var c pbx.Counters
	getJSON(t, "http://"+api+"/counters", &c)
	if c.Invites != 4 {
		t.Errorf("counters %+v, want 4 invites", c)
	}
}

// TestCommandCalls: -call places a call at start and reports it.
func TestCommandCalls(t *testing.T) {
	callee, err := pbx.Start(pbx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer callee.Close()
	out := start(t, "-listen", "127.0.0.1:0", "-call", "sip:1001@"+callee.Addr().String(), "-from", "0441234567", "-duration", "300ms")
	out.wait(t, regexp.MustCompile(`^pbxsim call answered$`))
	m := out.wait(t, regexp.MustCompile(`^pbxsim call ended by pbx rtp_received=(\d+) rtp_sent=(\d+)$`))
	if m[1] == "0" || m[2] == "0" {
		t.Errorf("no RTP both ways: %q", m[0])
	}
	if cs := callee.Calls(); len(cs) != 1 || cs[0].From != "0441234567" {
		t.Errorf("callee saw %+v", cs)
	}
}

func TestCommandBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-mode", "sleepy"}, {"-media", "music"}, {"-default", "maybe"}, {"-user", "nopassword"},
		{"-http", "0.0.0.0:0", "-listen", "127.0.0.1:0"}, {"-nosuchflag"},
	} {
		if err := run(t.Context(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
