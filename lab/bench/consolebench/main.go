// Command consolebench measures the attendant console path end to end
// (issue 14, make bench-console): the MiVO400 simulator (lab/mitel, in
// this process, stamping every call event with its clock) → the Mitel
// driver process → the gateway (bin/switchboard serve, its CTI host and
// attendant model) → GET /api/v1/events WebSockets → -clients console
// clients in this process, each watching -devices devices (?devices=).
//
// Calls are made, answered and cleared through the gateway's own REST
// API (POST /api/v1/calls, …/answer, …/clear) by -workers workers, paced
// to -rate calls/s (0: as fast as they go). Latency is the simulator's
// timestamp of each event (the message's pbx_time) to the client reading
// the frame; it is reported as p50/p99/max with the frames/s delivered
// over all clients and the model's messages/s. The anchor, measured side
// by side in the same run, is one client on the same storm: the ratio
// shows what fanning out to every console costs. Goal: p99 < 20 ms.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"

	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
)

func main() {
	bin := flag.String("bin", "bin/switchboard", "the switchboard binary")
	clients := flag.Int("clients", 200, "console WebSocket clients")
	devices := flag.Int("devices", 1000, "devices monitored, each client watches all of them")
	workers := flag.Int("workers", 4, "concurrent callers")
	rate := flag.Int("rate", 50, "calls/s (about 9 events each); 0: as fast as the workers go")
	dur := flag.Duration("duration", 15*time.Second, "storm length per phase")
	shapes := flag.String("shape", "shared,pinned", "comma-separated: shared (consoles in this process, every process on every core), "+
		"pinned (the gateway and its driver on core 1, consoles in their own process with the simulator and the callers on core 0)")
	child := flag.Bool("client-proc", false, "internal: run as the pinned shape's console process")
	flag.StringVar(&profileOut, "cpuprofile", "", "write the gateway's CPU profile of each full phase to this file (.<shape> appended)")
	flag.Parse()
	var err error
	switch {
	case *child:
		err = clientProc()
	default:
		for _, shape := range strings.Split(*shapes, ",") {
			if err = run(shape, *bin, *clients, *devices, *workers, *rate, *dur); err != nil {
				break
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "consolebench:", err)
		os.Exit(1)
	}
}

// gateway is the switchboard process under test.
type gateway struct {
	cmd  *exec.Cmd
	dir  string
	http string
	auth string
	out  *bytes.Buffer
	mu   *sync.Mutex
}

var reHTTPS = regexp.MustCompile(`msg="https listening" addr=(\S+)`)

type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// startGateway starts bin serve on the simulator; with cpus it runs
// under taskset (its driver processes inherit the affinity).
func startGateway(bin, cpus, simAddr string, devs []string) (*gateway, error) {
	dir, err := os.MkdirTemp("", "consolebench-")
	if err != nil {
		return nil, err
	}
	quoted := make([]string, len(devs))
	for i, d := range devs {
		quoted[i] = strconv.Quote(d)
	}
	cfg := fmt.Sprintf(`domain: example.com
data_dir: %s
log: {level: info}
sip: {listen: [udp://127.0.0.1:0]}
http: {listen: 127.0.0.1:0}
turn: {enabled: false}
webrtc: {port: 0}
attendant: {console_link: {tls: ""}}
cti:
  drivers:
    - name: pbx1
      driver: mitel
      config: {address: %q, user: csta, password: secret}
      monitor: [%s]
`, filepath.Join(dir, "data"), simAddr, strings.Join(quoted, ", "))
	path := filepath.Join(dir, "switchboard.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	g := &gateway{dir: dir, out: &bytes.Buffer{}, mu: &sync.Mutex{}}
	args := []string{bin, "serve", "--config", path}
	if cpus != "" {
		args = append([]string{"taskset", "-c", cpus}, args...)
	}
	g.cmd = exec.Command(args[0], args[1:]...)
	g.cmd.Stdout = lockedWriter{g.mu, g.out}
	g.cmd.Stderr = lockedWriter{g.mu, g.out}
	if err := g.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		g.mu.Lock()
		log := g.out.String()
		g.mu.Unlock()
		if strings.Contains(log, `msg="switchboard ready"`) {
			if m := reHTTPS.FindStringSubmatch(log); m != nil {
				g.http = m[1]
			}
			break
		}
		if time.Now().After(deadline) {
			g.stop()
			return nil, fmt.Errorf("gateway not ready:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	pw, err := os.ReadFile(filepath.Join(dir, "data", "admin.password"))
	if err != nil {
		g.stop()
		return nil, err
	}
	g.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+string(bytes.TrimSpace(pw))))
	return g, nil
}

// pid is the gateway's process id (under taskset, which execs it, the
// same).
func (g *gateway) pid() int { return g.cmd.Process.Pid }

func (g *gateway) stop() {
	_ = g.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = g.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = g.cmd.Process.Kill()
		<-done
	}
	_ = os.RemoveAll(g.dir)
}

var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
	TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, MaxIdleConnsPerHost: 64}} // self-signed

func (g *gateway) do(method, path, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, "https://"+g.http+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", g.auth)
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// waitKnown waits until every device has its first snapshot.
func (g *gateway) waitKnown(n int) error {
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		code, b, err := g.do("GET", "/api/v1/devices?source=pbx1", "")
		if err != nil || code != 200 {
			continue
		}
		if strings.Count(string(b), `"line": "idle"`) >= n {
			return nil
		}
	}
	return errors.New("devices never all known")
}

func (g *gateway) dial(query string) (*console, error) { return dialConsole(g.http, g.auth, query) }

// storm makes, answers and clears calls through the REST API until ctx
// ends.
func (g *gateway) storm(ctx context.Context, devs []string, workers, rate int) (calls, errs int64) {
	var nc, ne atomic.Int64
	var first sync.Once
	fail := func(what string, code int, b []byte, err error) {
		ne.Add(1)
		first.Do(func() {
			fmt.Fprintf(os.Stderr, "consolebench: first failed request: %s: %d %s %v\n", what, code, b, err)
		})
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range work {
				k := (i*workers + w) % (len(devs) / 2)
				from, to := devs[2*k], devs[2*k+1]
				code, b, err := g.do("POST", "/api/v1/calls", fmt.Sprintf(`{"from":"pbx1:%s","to":%q}`, from, to))
				if err != nil || code != http.StatusCreated {
					fail("make call", code, b, err)
					continue
				}
				var made struct {
					CallID string `json:"call_id"`
				}
				_ = json.Unmarshal(b, &made)
				// The callee's connection reaches the model with its
				// delivered event: retry answer briefly until it has.
				for try := 0; ; try++ {
					code, b, err = g.do("POST", "/api/v1/calls/"+made.CallID+"/answer", fmt.Sprintf(`{"device":"pbx1:%s"}`, to))
					if err == nil && code == http.StatusNotFound && try < 100 {
						time.Sleep(2 * time.Millisecond)
						continue
					}
					break
				}
				if err != nil || code != http.StatusNoContent {
					fail("answer", code, b, err)
				}
				for try := 0; ; try++ {
					code, b, err = g.do("POST", "/api/v1/calls/"+made.CallID+"/clear", fmt.Sprintf(`{"device":"pbx1:%s"}`, from))
					if err == nil && code == http.StatusNotFound && try < 100 {
						time.Sleep(2 * time.Millisecond)
						continue
					}
					break
				}
				if err != nil || code != http.StatusNoContent {
					fail("clear", code, b, err)
					continue
				}
				nc.Add(1)
			}
		})
	}
	start := time.Now()
	for i := 0; ctx.Err() == nil; i++ {
		if rate > 0 {
			if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(d):
				}
			}
		}
		select {
		case work <- i:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	return nc.Load(), ne.Load()
}

// phase is one measured storm.
type phase struct {
	clients     int
	calls, errs int64
	seqs        uint64
	elapsed     time.Duration
	load        [2]string     // /proc/loadavg before and after
	cpu         time.Duration // the gateway's and its driver's CPU time
	clientResult
}

// measure runs one storm with nClients consoles, in this process or
// (cpus != "-") in a client process pinned to cpus.
func measure(g *gateway, devs []string, nClients, workers, rate int, dur time.Duration, cpus string) (phase, error) {
	q := make([]string, len(devs))
	for i, d := range devs {
		q[i] = "pbx1:" + d
	}
	query := "?devices=" + strings.Join(q, ",")
	var cl clients
	if cpus == "-" {
		s, err := dialSet(g.http, g.auth, query, nClients)
		if err != nil {
			return phase{}, err
		}
		cl = inProc{s}
	} else {
		p, err := startChild(cpus, childSpec{Addr: g.http, Auth: g.auth, Query: query, N: nClients})
		if err != nil {
			return phase{}, err
		}
		cl = p
	}
	defer cl.close()
	time.Sleep(500 * time.Millisecond) // snapshots read
	p := phase{clients: nClients}
	p.load[0] = loadavg()
	seq0 := lastSeq(g)
	cpu0 := procCPU(g.pid())
	if err := cl.start(); err != nil {
		return p, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	start := time.Now()
	p.calls, p.errs = g.storm(ctx, devs, workers, rate)
	cancel()
	time.Sleep(500 * time.Millisecond) // the tail of the storm delivered
	p.elapsed = time.Since(start)
	r, err := cl.stop()
	if err != nil {
		return p, err
	}
	p.cpu = procCPU(g.pid()) - cpu0
	p.clientResult, p.seqs, p.load[1] = r, lastSeq(g)-seq0, loadavg()
	return p, nil
}

// loadavg is the machine's 1/5/15-minute load average.
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

// lastSeq is the event stream's current seq (the snapshot's).
func lastSeq(g *gateway) uint64 {
	c, err := g.dial("?devices=none:0")
	if err != nil {
		return 0
	}
	defer c.conn.Close()
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := ws.ReadFrame(c.br)
	if err != nil {
		return 0
	}
	var m struct {
		Seq uint64 `json:"seq"`
	}
	_ = json.Unmarshal(f.Payload, &m)
	return m.Seq
}

// profileOut, when set, receives the gateway's CPU profile
// (/debug/pprof/profile) taken during the full phase.
var profileOut string

func (g *gateway) profile(secs int, shape string, done chan<- struct{}) {
	defer close(done)
	if profileOut == "" {
		return
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("https://%s/debug/pprof/profile?seconds=%d", g.http, secs), nil)
	req.Header.Set("Authorization", g.auth)
	c := &http.Client{Timeout: time.Duration(secs+30) * time.Second, Transport: client.Transport}
	res, err := c.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "consolebench: profile:", err)
		return
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	_ = os.WriteFile(profileOut+"."+shape, b, 0o644)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// run measures one shape: the anchor (1 console) and the full storm
// (nClients consoles) on one gateway.
func run(shape, bin string, nClients, nDevices, workers, rate int, dur time.Duration) error {
	var gwCPUs, clientCPUs string
	switch shape {
	case "shared":
		clientCPUs = "-" // in this process
	case "pinned":
		// Everything but the gateway runs on core 0: this process (the
		// simulator and the callers) too, so it is re-run there.
		if os.Getenv("CONSOLEBENCH_PINNED") == "" {
			return rerunPinned(shape)
		}
		gwCPUs, clientCPUs = "1", "0"
	default:
		return fmt.Errorf("shape %q: shared or pinned", shape)
	}
	sim, err := labmitel.New(labmitel.Config{Timestamps: true, User: "csta", Password: "secret"})
	if err != nil {
		return err
	}
	defer sim.Close()
	devs := make([]string, nDevices)
	for i := range devs {
		devs[i] = strconv.Itoa(10000 + i)
	}
	g, err := startGateway(bin, gwCPUs, sim.Addr(), devs)
	if err != nil {
		return err
	}
	defer g.stop()
	t0 := time.Now()
	if err := g.waitKnown(nDevices); err != nil {
		return err
	}
	where := "every process on both cores, the consoles in the benchmark process"
	if shape == "pinned" {
		where = "gateway + driver on core 1; simulator, callers and a console process on core 0"
	}
	fmt.Printf("== shape %s (%s)\nconsolebench: %d devices monitored and snapshotted in %s; storm: %d workers, %s, %s per phase\n",
		shape, where, nDevices, time.Since(t0).Round(time.Millisecond), workers, rateText(rate), dur)
	anchor, err := measure(g, devs, 1, workers, rate, dur, clientCPUs)
	if err != nil {
		return err
	}
	report("anchor: 1 console", anchor)
	profiled := make(chan struct{})
	go g.profile(max(int(dur.Seconds())-2, 1), shape, profiled)
	full, err := measure(g, devs, nClients, workers, rate, dur, clientCPUs)
	<-profiled
	if err != nil {
		return err
	}
	report(fmt.Sprintf("%d consoles x %d devices", nClients, nDevices), full)
	if anchor.Lat.P99 > 0 {
		fmt.Printf("ratio p99 %d consoles / 1 console: %.2fx; p99 %s against the goal of 20 ms: %s\n", nClients,
			float64(full.Lat.P99)/float64(anchor.Lat.P99), ms(full.Lat.P99), map[bool]string{true: "met", false: "NOT met"}[full.Lat.P99 < 20*time.Millisecond])
	}
	return nil
}

// rerunPinned runs this benchmark again for one shape under taskset on
// core 0, its output passed through.
func rerunPinned(shape string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"-c", "0", self}
	for _, a := range os.Args[1:] {
		if !strings.HasPrefix(a, "-shape") && !strings.HasPrefix(a, "--shape") {
			args = append(args, a)
		}
	}
	args = append(args, "-shape="+shape)
	cmd := exec.Command("taskset", args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "CONSOLEBENCH_PINNED=1")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pinned run: %w", err)
	}
	return nil
}

func rateText(r int) string {
	if r == 0 {
		return "unpaced"
	}
	return fmt.Sprintf("%d calls/s", r)
}

func report(name string, p phase) {
	s := p.elapsed.Seconds()
	fmt.Printf("%-28s calls %d (%d failed requests), model messages %d (%.0f/s), frames delivered %d (%.0f/s), clients dropped %d, load average %s -> %s\n",
		name+":", p.calls, p.errs, p.seqs, float64(p.seqs)/s, p.Frames, float64(p.Frames)/s, p.Dropped, p.load[0], p.load[1])
	perFrame := 0.0
	if p.Frames > 0 {
		perFrame = float64(p.cpu.Microseconds()) / float64(p.Frames)
	}
	fmt.Printf("%-28s gateway+driver CPU %.2f s (%.0f %% of one core), %.1f µs per frame delivered\n", "",
		p.cpu.Seconds(), 100*p.cpu.Seconds()/s, perFrame)
	fmt.Printf("%-28s latency PBX event -> console frame p50 %s p99 %s max %s (%d samples); stages: PBX -> gateway publish p50 %s p99 %s max %s, publish -> console frame p50 %s p99 %s max %s\n",
		"", ms(p.Lat.P50), ms(p.Lat.P99), ms(p.Lat.Max), p.Lat.N, ms(p.Up.P50), ms(p.Up.P99), ms(p.Up.Max), ms(p.Fan.P50), ms(p.Fan.P99), ms(p.Fan.Max))
}
