package mitel_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/mitel"
	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
	"github.com/switchboard-gw/switchboard/plugins"
)

// startErr starts a driver on addr and returns Start's error; the driver
// is closed.
func startErr(t *testing.T, addr string, extra map[string]any) error {
	t.Helper()
	d := mitel.New()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := d.Start(ctx, plugins.StartRequest{Driver: "mitel", Config: driverConfig(addr, extra)})
	_ = d.Close()
	return err
}

// fakePeer listens on loopback and answers every connection with answer
// (nil: reads and says nothing).
func fakePeer(t *testing.T, answer []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { _ = ln.Close(); <-done })
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			if answer != nil {
				_, _ = c.Write(answer)
			}
		}
	}()
	return ln.Addr().String()
}

// TestGuessesFailLoudly: a PBX that answers otherwise than the driver's
// guesses (the port speaks something else, no ECMA-354 session, another
// login carrier, another edition) fails Start at once with
// plugins.ErrIncompatible and an error naming what was expected and the
// switch to try. Before, each of these was an endless link_down loop
// (Start returned nil; only a refused login failed).
func TestGuessesFailLoudly(t *testing.T) {
	httpPort := fakePeer(t, []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
	sim := func(c labmitel.Config) string {
		c.User, c.Password = "csta", "secret"
		s, err := labmitel.New(c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s.Addr()
	}
	for _, tc := range []struct {
		name  string
		addr  string
		extra map[string]any
		want  []string
	}{
		{"not csta on that port", httpPort, nil,
			[]string{"expected CSTA XML frames", `"HTTP/1.1"`, "wrong port"}},
		{"no application sessions", sim(labmitel.Config{NoSession: true}), nil,
			[]string{"expected a StartApplicationSessionPosResponse", "CSTAErrorCode operation/generic", "try session none"}},
		{"login in another carrier", sim(labmitel.Config{LoginNamespace: "http://www.avaya.com/csta"}), nil,
			[]string{"<SessionLoginInfo> without a namespace", "invalidApplicationInfo", "login_carrier avaya_session_login_info"}},
		{"another edition", sim(labmitel.Config{Namespace: cstaxml.Ed3}), nil,
			[]string{"protocol version http://www.ecma-international.org/standards/ecma-323/csta/ed5", "requestedProtocolVersionNotSupported", "edition"}},
		{"session none but the PBX wants one", sim(labmitel.Config{}), map[string]any{"session": "none", "user": "", "password": ""},
			[]string{"expected SystemStatus answered without an application session", "session ecma354"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := startErr(t, tc.addr, tc.extra)
			t.Logf("Start after %s: %v", time.Since(start).Round(time.Millisecond), err)
			if !errors.Is(err, plugins.ErrIncompatible) {
				t.Fatalf("Start: %v, want ErrIncompatible", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q", w)
				}
			}
		})
	}
}

// TestSilentPBXIsRetried: a PBX that accepts TCP and says nothing may be
// busy or restarting: Start succeeds, and the link_down names what the
// driver expected (an answer to StartApplicationSession, a guess). Before,
// the link_down said only "context deadline exceeded".
func TestSilentPBXIsRetried(t *testing.T) {
	silent := fakePeer(t, nil)
	d := mitel.New()
	ev := make(chan plugins.Event, 16)
	evCtx, stop := context.WithCancel(context.Background())
	served := make(chan struct{})
	defer func() { stop(); <-served }()
	go func() {
		defer close(served)
		_ = d.Events(evCtx, func(e plugins.Event) error {
			select {
			case ev <- e:
			default:
			}
			return nil
		})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Start(ctx, plugins.StartRequest{Driver: "mitel", Config: driverConfig(silent, map[string]any{"request_timeout": "300ms"})}); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer d.Close()
	select {
	case e := <-ev:
		if e.Type != plugins.EventLinkDown || !strings.Contains(e.RawCause, "expected an answer to StartApplicationSession") {
			t.Fatalf("first event %+v", e)
		}
		t.Logf("link_down: %s", e.RawCause)
	case <-ctx.Done():
		t.Fatal("no link_down")
	}
}

// TestUnreachableIsNotIncompatible: a PBX that refuses TCP is a link
// problem, retried in the background: Start succeeds.
func TestUnreachableIsNotIncompatible(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	if err := startErr(t, addr, nil); err != nil {
		t.Fatalf("Start with the PBX unreachable: %v", err)
	}
}

// TestVariantSwitches: each guess's switch makes the driver work with a
// PBX that answers that way: no session (SystemStatus keepalive), the
// login in Avaya's namespace, device IDs written N<201!98>.
func TestVariantSwitches(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sim   labmitel.Config
		extra map[string]any
		devs  []string // as the simulator names them
	}{
		{"session none", labmitel.Config{NoSession: true},
			map[string]any{"session": "none", "user": "", "password": "", "keepalive": "1s"}, nil},
		{"avaya login carrier", labmitel.Config{LoginNamespace: "http://www.avaya.com/csta"},
			map[string]any{"login_carrier": "avaya_session_login_info"}, nil},
		{"device id form", labmitel.Config{Devices: []string{"N<201!98>", "N<202!98>"}, DeviceIDForm: "N<%s!98>"},
			map[string]any{"device_id_format": "N<{device}!98>"}, []string{"N<201!98>", "N<202!98>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.sim, tc.extra)
			e.monitor("201", "202")
			want := tc.devs
			if want == nil {
				want = []string{"201", "202"}
			}
			if got := e.sim.Monitors(); !slices.Equal(got, want) {
				t.Fatalf("sim monitors %v, want %v", got, want)
			}
			ref, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"})
			if err != nil {
				t.Fatal(err)
			}
			if ref.Device != "201" {
				t.Errorf("make call ref %+v: device in the PBX's form", ref)
			}
			ev := waitFor(e, func(ev plugins.Event) bool { return ev.Type == plugins.EventDelivered && ev.Device == "202" })
			if ev.Calling != "201" || ev.Other != "202" {
				t.Errorf("delivered %+v: parties not read back to the host's names", ev)
			}
			if err := e.d.Answer(bg, plugins.ConnectionRef{Device: "202", CallID: ev.CallID}); err != nil {
				t.Fatal(err)
			}
			waitFor(e, func(ev plugins.Event) bool { return ev.Type == plugins.EventEstablished && ev.Device == "202" })
			if snap := e.snapshot("202"); len(snap.Calls) != 1 || snap.Calls[0].State != plugins.StateConnected {
				t.Errorf("snapshot %+v", snap)
			}
		})
	}
	// Without the switch, the device-ID form is named in the refusal.
	e := newEnv(t, labmitel.Config{Devices: []string{"N<201!98>"}}, nil)
	_, err := e.d.MonitorStart(bg, "201")
	if !errors.Is(err, plugins.ErrNotFound) || !strings.Contains(err.Error(), `device_id_format "{device}"`) {
		t.Fatalf("monitor in the wrong form: %v", err)
	}
}

// waitFor skips events until one matches.
func waitFor(e *env, match func(plugins.Event) bool) plugins.Event {
	e.t.Helper()
	for {
		if ev := e.Next(); match(ev) {
			return ev
		}
	}
}
