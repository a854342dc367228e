// Command pbxsim runs the lab PBX simulator (lab/pbx) on UDP: it answers,
// rings, refuses and registers as its flags say, and can place a call.
//
//	pbxsim -listen 127.0.0.1:5090 -answer 2000,2001 -busy 2486 -early 2183 -ring 1s
//	pbxsim -listen 127.0.0.2:5088 -mode 503          # a secondary that is down
//	pbxsim -user trunk:secret -realm pbx.lab          # digest REGISTER
//	pbxsim -call sip:1001@127.0.0.1:5060 -from 0441234567 -duration 5s
//
// At runtime SIGUSR1 switches to 503 mode, SIGUSR2 to dead (nothing
// answered), SIGHUP back to normal. With -http, a loopback JSON API shows
// /calls, /registrations and /counters, and PUT /mode?m=normal|503|dead
// switches the mode. The first line on stdout is "pbxsim listening udp
// ADDR".
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/lab/pbx"
)

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "pbxsim:", err)
		os.Exit(1)
	}
}

// run parses args and serves until ctx ends; status lines go to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flag := flag.NewFlagSet("pbxsim", flag.ContinueOnError)
	flag.SetOutput(stderr)
	var (
		listen      = flag.String("listen", "127.0.0.1:5090", "UDP address to listen on (port 0 picks one)")
		mode        = flag.String("mode", "normal", "normal, 503 (answer everything 503) or dead (answer nothing)")
		retryAfter  = flag.Int("retry-after", 0, "Retry-After seconds sent with 503 in 503 mode")
		def         = flag.String("default", "answer", "what calls to other numbers get: answer, busy, unavailable, noanswer, notfound")
		ring        = flag.Duration("ring", 0, "how long answered numbers ring first")
		media       = flag.String("media", "echo", "answered calls: echo, tone or silent")
		hangup      = flag.Duration("hangup-after", 0, "send BYE this long after answering (0: wait for the caller)")
		realm       = flag.String("realm", "pbx.lab", "digest realm for REGISTER")
		name        = flag.String("name", "pbxsim", "Server/User-Agent header")
		httpAddr    = flag.String("http", "", "loopback host:port of the JSON control API (empty: none)")
		callTo      = flag.String("call", "", "place a call to this SIP URI at start")
		callFrom    = flag.String("from", "pbx", "calling number of -call")
		duration    = flag.Duration("duration", 5*time.Second, "how long the -call lasts after the answer")
		verbose     = flag.Bool("v", false, "log every call and registration")
		answer      listFlag
		busy        listFlag
		unavailable listFlag
		early       listFlag
		noanswer    listFlag
		voicemail   listFlag
		users       listFlag
	)
	flag.Var(&answer, "answer", "numbers answered (comma separated, repeatable)")
	flag.Var(&busy, "busy", "numbers answered 486 Busy Here")
	flag.Var(&unavailable, "unavailable", "numbers answered 503 Service Unavailable")
	flag.Var(&early, "early", "numbers answered after -ring of 183 early media (the tone)")
	flag.Var(&noanswer, "noanswer", "numbers that ring until cancelled")
	flag.Var(&voicemail, "voicemail", "numbers answered with the tone that negotiate RFC 4733 telephone-event and record the digits (GET /calls: digits)")
	flag.Var(&users, "user", "REGISTER credentials user:password (repeatable); none: no authentication")
	if err := flag.Parse(args); err != nil {
		return err
	}

	m, err := pbx.ParseMode(*mode)
	if err != nil {
		return err
	}
	mm := pbx.MediaMode(*media)
	if mm != pbx.Echo && mm != pbx.Tone && mm != pbx.Silent {
		return fmt.Errorf("unknown -media %q", *media)
	}
	o := pbx.Options{
		Addr: *listen, Realm: *realm, Name: *name, RetryAfter: *retryAfter,
		Numbers: map[string]pbx.Number{},
		Default: pbx.Number{Action: pbx.Action(*def), Ring: *ring, Media: mm, HangupAfter: *hangup},
	}
	switch o.Default.Action {
	case pbx.Answer, pbx.Busy, pbx.Unavailable, pbx.NoAnswer, pbx.NotFound:
	default:
		return fmt.Errorf("unknown -default %q", *def)
	}
	for _, n := range answer {
		o.Numbers[n] = pbx.Number{Action: pbx.Answer, Ring: *ring, Media: mm, HangupAfter: *hangup}
	}
	for _, n := range early {
		o.Numbers[n] = pbx.Number{Action: pbx.Answer, Early: true, Ring: *ring, Media: mm, HangupAfter: *hangup}
	}
	for _, n := range voicemail {
		o.Numbers[n] = pbx.Number{Action: pbx.Answer, Ring: *ring, Media: pbx.Tone, HangupAfter: *hangup, DTMF: true}
	}
	for _, n := range busy {
		o.Numbers[n] = pbx.Number{Action: pbx.Busy}
	}
	for _, n := range unavailable {
		o.Numbers[n] = pbx.Number{Action: pbx.Unavailable}
	}
	for _, n := range noanswer {
		o.Numbers[n] = pbx.Number{Action: pbx.NoAnswer}
	}
	if len(users) > 0 {
		o.Users = map[string]string{}
		for _, u := range users {
			name, pw, ok := strings.Cut(u, ":")
			if !ok || name == "" {
				return fmt.Errorf("-user %q: want user:password", u)
			}
			o.Users[name] = pw
		}
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	sim, err := pbx.Start(o)
	if err != nil {
		return err
	}
	defer sim.Close()
	sim.SetMode(m)
	out := &lockedWriter{w: stdout}
	out.printf("pbxsim listening udp %s\n", sim.Addr())

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGHUP)
	defer signal.Stop(sigs)

	if *httpAddr != "" {
		stopHTTP, err := serveHTTP(*httpAddr, sim, out)
		if err != nil {
			return err
		}
		defer stopHTTP()
	}
	if *callTo != "" {
		callDone := make(chan struct{})
		defer func() { <-callDone }()
		go func() {
			defer close(callDone)
			placeCall(ctx, sim, *callTo, *callFrom, mm, *duration, out)
		}()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case s := <-sigs:
			switch s {
			case syscall.SIGUSR1:
				sim.SetMode(pbx.Unavailable503)
			case syscall.SIGUSR2:
				sim.SetMode(pbx.Dead)
			default:
				sim.SetMode(pbx.Normal)
			}
			out.printf("pbxsim mode %s\n", sim.Mode())
		}
	}
}

func placeCall(ctx context.Context, sim *pbx.Sim, to, from string, mm pbx.MediaMode, d time.Duration, out *lockedWriter) {
	var u sip.Uri
	if err := sip.ParseUri(to, &u); err != nil {
		out.printf("pbxsim call failed: -call: %v\n", err)
		return
	}
	if mm == pbx.Echo {
		mm = pbx.Tone // someone has to speak first
	}
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	oc, err := sim.Call(cctx, pbx.CallOptions{Target: u, From: from, Media: mm})
	if err != nil {
		out.printf("pbxsim call failed: %v\n", err)
		return
	}
	out.printf("pbxsim call answered\n")
	select {
	case <-time.After(d):
		_ = oc.Hangup(cctx)
	case <-oc.Done():
	case <-ctx.Done():
	}
	info := oc.Info()
	out.printf("pbxsim call ended by %s rtp_received=%d rtp_sent=%d\n", info.EndedBy, info.Media.Received, info.Media.Sent)
}

// serveHTTP starts the control API; the returned function stops it and
// waits for it.
func serveHTTP(addr string, sim *pbx.Sim, out *lockedWriter) (func(), error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("-http %s: must be a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	out.printf("pbxsim http %s\n", ln.Addr())
	mux := http.NewServeMux()
	js := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /calls", func(w http.ResponseWriter, _ *http.Request) { js(w, sim.Calls()) })
	mux.HandleFunc("GET /registrations", func(w http.ResponseWriter, _ *http.Request) { js(w, sim.Registrations()) })
	mux.HandleFunc("GET /counters", func(w http.ResponseWriter, _ *http.Request) { js(w, sim.Counters()) })
	mux.HandleFunc("PUT /mode", func(w http.ResponseWriter, r *http.Request) {
		m, err := pbx.ParseMode(r.URL.Query().Get("m"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sim.SetMode(m)
		js(w, map[string]string{"mode": m.String()})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			out.printf("pbxsim http failed: %v\n", err)
		}
	}()
	return func() { _ = srv.Close(); <-done }, nil
}

// lockedWriter serialises status lines from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format, args...)
}
