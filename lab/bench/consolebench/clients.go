package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// console is one WebSocket client counting frames and latencies.
type console struct {
	conn net.Conn
	br   *bufio.Reader
	mu   sync.Mutex
	lat  []time.Duration // the simulator's stamp (pbx_time) → frame read
	fan  []time.Duration // the gateway's publish (time) → frame read
	up   []time.Duration // pbx_time → the gateway's publish
	n    atomic.Int64
	err  error
}

func dialConsole(addr, auth, query string) (*console, error) {
	d := ws.Dialer{TLSConfig: &tls.Config{InsecureSkipVerify: true},
		Header: ws.HandshakeHeaderHTTP(http.Header{"Authorization": {auth}}), Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, br, _, err := d.Dial(ctx, "wss://"+addr+"/api/v1/events"+query)
	if err != nil {
		return nil, err
	}
	if br == nil {
		br = bufio.NewReader(conn)
	}
	return &console{conn: conn, br: br}, nil
}

var (
	pbxTimeKey = []byte(`"pbx_time":"`)
	timeKey    = []byte(`"time":"`) // the first one is the message's time: the model published it then
)

// stamp finds the RFC 3339 time after key in p.
func stamp(p, key []byte) (time.Time, bool) {
	i := bytes.Index(p, key)
	if i < 0 {
		return time.Time{}, false
	}
	rest := p[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:j]))
	return t, err == nil
}

// read counts frames and, for messages with pbx_time, the latency from
// the simulator's clock to now (and its two stages: up to the gateway's
// publish, and from there to this read), until the connection ends.
func (c *console) read(measure *atomic.Bool) {
	for {
		f, err := ws.ReadFrame(c.br)
		now := time.Now()
		if err != nil {
			c.err = err
			return
		}
		switch f.Header.OpCode {
		case ws.OpPing:
			_ = ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewPongFrame(f.Payload)))
			continue
		case ws.OpClose:
			code, reason := ws.ParseCloseFrameData(f.Payload)
			c.err = fmt.Errorf("closed by the gateway: %d %s", code, reason)
			return
		}
		if !measure.Load() {
			continue
		}
		c.n.Add(1)
		pbx, ok := stamp(f.Payload, pbxTimeKey)
		if !ok {
			continue
		}
		pub, _ := stamp(f.Payload, timeKey)
		c.mu.Lock()
		c.lat = append(c.lat, now.Sub(pbx))
		c.fan = append(c.fan, now.Sub(pub))
		c.up = append(c.up, pub.Sub(pbx))
		c.mu.Unlock()
	}
}

// dist is a latency distribution.
type dist struct {
	P50, P99, Max time.Duration
	N             int
}

func distOf(all []time.Duration) dist {
	slices.Sort(all)
	n := len(all)
	if n == 0 {
		return dist{}
	}
	return dist{P50: all[n/2], P99: all[n*99/100], Max: all[n-1], N: n}
}

// clientResult is what a set of consoles saw while measuring.
type clientResult struct {
	Frames  int64
	Lat     dist // PBX event → console frame
	Up      dist // PBX event → the gateway's publish
	Fan     dist // the gateway's publish → console frame
	Dropped int
}

// clientSet is n consoles on one gateway.
type clientSet struct {
	cs []*console
	on atomic.Bool
	wg sync.WaitGroup
}

func dialSet(addr, auth, query string, n int) (*clientSet, error) {
	s := &clientSet{}
	for range n {
		c, err := dialConsole(addr, auth, query)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("console client: %w", err)
		}
		s.cs = append(s.cs, c)
		s.wg.Go(func() { c.read(&s.on) })
	}
	return s, nil
}

func (s *clientSet) start() { s.on.Store(true) }

func (s *clientSet) stop() clientResult {
	s.on.Store(false)
	var r clientResult
	var lat, up, fan []time.Duration
	for _, c := range s.cs {
		r.Frames += c.n.Load()
		c.mu.Lock()
		lat, up, fan = append(lat, c.lat...), append(up, c.up...), append(fan, c.fan...)
		c.mu.Unlock()
		if c.err != nil && !errors.Is(c.err, net.ErrClosed) {
			r.Dropped++
		}
	}
	r.Lat, r.Up, r.Fan = distOf(lat), distOf(up), distOf(fan)
	return r
}

func (s *clientSet) close() {
	for _, c := range s.cs {
		c.conn.Close()
	}
	s.wg.Wait()
}

// clients is where the consoles run: in this process, or in a child
// process (pinned to a core) driven over its stdin/stdout.
type clients interface {
	start() error
	stop() (clientResult, error)
	close()
}

type inProc struct{ *clientSet }

func (p inProc) start() error                { p.clientSet.start(); return nil }
func (p inProc) stop() (clientResult, error) { return p.clientSet.stop(), nil }

// childSpec is the first line a client process reads.
type childSpec struct {
	Addr, Auth, Query string
	N                 int
}

// childProc is a client process: `consolebench -client-proc`, spec on
// stdin, "ready" on stdout, then "go" and "stop" lines in, the result as
// one JSON line out.
type childProc struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startChild(cpus string, spec childSpec) (*childProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{self, "-client-proc"}
	if cpus != "" {
		args = append([]string{"taskset", "-c", cpus}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("client process: %w", err)
	}
	p := &childProc{cmd: cmd, in: in, out: bufio.NewReader(outp)}
	b, _ := json.Marshal(spec)
	if _, err := fmt.Fprintf(in, "%s\n", b); err != nil {
		p.close()
		return nil, err
	}
	line, err := p.out.ReadString('\n')
	if err != nil || line != "ready\n" {
		p.close()
		return nil, fmt.Errorf("client process not ready: %q %v", line, err)
	}
	return p, nil
}

func (p *childProc) start() error {
	_, err := io.WriteString(p.in, "go\n")
	return err
}

func (p *childProc) stop() (clientResult, error) {
	var r clientResult
	if _, err := io.WriteString(p.in, "stop\n"); err != nil {
		return r, err
	}
	line, err := p.out.ReadBytes('\n')
	if err != nil {
		return r, fmt.Errorf("client process result: %w", err)
	}
	return r, json.Unmarshal(line, &r)
}

func (p *childProc) close() {
	_ = p.in.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// clientProc is the body of `consolebench -client-proc`.
func clientProc() error {
	in := bufio.NewReader(os.Stdin)
	line, err := in.ReadBytes('\n')
	if err != nil {
		return err
	}
	var spec childSpec
	if err := json.Unmarshal(line, &spec); err != nil {
		return err
	}
	s, err := dialSet(spec.Addr, spec.Auth, spec.Query, spec.N)
	if err != nil {
		return err
	}
	defer s.close()
	fmt.Println("ready")
	for {
		cmd, err := in.ReadString('\n')
		if err != nil {
			return nil // the parent is done
		}
		switch cmd {
		case "go\n":
			s.start()
		case "stop\n":
			b, _ := json.Marshal(s.stop())
			fmt.Printf("%s\n", b)
		}
	}
}
