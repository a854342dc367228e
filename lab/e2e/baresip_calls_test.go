package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
)

// baresip is one baresip process with one account.
type baresip struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *logBuffer
	done  chan struct{}
}

// startBaresip runs baresip for user, registered to the gateway over UDP,
// sending a 440 Hz tone (ausine) as its microphone and auto-answering.
func startBaresip(t *testing.T, g *gateway, user string) *baresip {
	t.Helper()
	bin := requireTool(t, "baresip")
	modules := "/usr/lib/baresip/modules"
	for _, m := range []string{"account.so", "ausine.so", "g711.so", "stdio.so", "menu.so"} {
		if _, err := os.Stat(filepath.Join(modules, m)); err != nil {
			t.Skipf("baresip module %s not found in %s", m, modules)
		}
	}
	dir := t.TempDir()
	// ctrl_tcp publishes baresip's events (CALL_DTMF_START for RFC 4733
	// digits, which baresip 1.0 does not print) on a port of our own
	ctrlPort, ctrl := freeTCPPort(t), ""
	if _, err := os.Stat(filepath.Join(modules, "ctrl_tcp.so")); err == nil {
		ctrl = fmt.Sprintf("module_app ctrl_tcp.so\nctrl_tcp_listen 127.0.0.1:%d", ctrlPort)
	}
	config := fmt.Sprintf(`module_path %s
sip_listen 127.0.0.1:0
rtp_ports 30000-32766
module stdio.so
module g711.so
module ausine.so
module_app account.so
module_app menu.so
%s
audio_player none
audio_source ausine,440
ausrc_srate 48000
ausrc_channels 2
audio_alert none
`, modules, ctrl)
	accounts := fmt.Sprintf("<sip:%s@example.com;transport=udp>;auth_pass=secret;outbound=\"sip:%s;transport=udp\";regint=600;answermode=auto;audio_codecs=PCMU\n", user, g.UDP)
	for name, body := range map[string]string{"config": config, "accounts": accounts} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "-f", dir, "-n", "127.0.0.1", "-t", "60")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	b := &baresip{t: t, cmd: cmd, stdin: stdin, out: &logBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = b.out, b.out
	exited, err := startChild(cmd)
	if err != nil {
		t.Fatal(err)
	}
	go func() { <-exited; close(b.done) }()
	if ctrl != "" {
		go b.events(ctrlPort) // webrtc_dtmf_test.go
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-b.done
		}
		if t.Failed() {
			t.Logf("baresip %s output:\n%s", user, tail(b.out.String(), 4000))
		}
	})
	return b
}

// command types a baresip command (menu module) on its stdin.
func (b *baresip) command(cmd string) {
	b.t.Helper()
	if _, err := io.WriteString(b.stdin, cmd+"\n"); err != nil {
		b.t.Fatalf("baresip stdin: %v", err)
	}
}

// baresipCall starts a gateway with users u1000 and u1001 (extensions
// 1000, 1001), a baresip registered as each, and has u1000 dial 1001 until
// u1001 says the call is established.
func baresipCall(t *testing.T) (g *gateway, caller, callee *baresip) {
	t.Helper()
	g = startGateway(t, `registrar: {algorithms: [MD5]}
users:
  - {username: u1000, password: secret, extension: "1000"}
  - {username: u1001, password: secret, extension: "1001"}
`)
	callee = startBaresip(t, g, "u1001")
	caller = startBaresip(t, g, "u1000")
	g.waitRegistrations(20*time.Second, "both baresips", func(rs []registration) bool {
		m := byAOR(rs)
		_, a := m["u1000@example.com"]
		_, b := m["u1001@example.com"]
		return a && b
	})
	caller.command("/dial sip:1001@example.com")
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(callee.out.String(), "Call established") {
		if time.Now().After(deadline) {
			t.Fatalf("callee never established the call\ngateway:\n%s", tail(g.log.String(), 3000))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return g, caller, callee
}

// TestBaresipCallsEachOther: two baresip softphones registered to the
// gateway; u1000 dials u1001's extension, u1001 answers automatically,
// both send a tone for a while, u1000 hangs up. The relay saw RTP both
// ways (the "call ended" log line's counters) and the CDR says so.
func TestBaresipCallsEachOther(t *testing.T) {
	g, caller, _ := baresipCall(t)
	time.Sleep(2 * time.Second) // 100 packets of tone each way
	caller.command("/hangup")
	g.waitLog(`msg="call ended"`, 10*time.Second)
	m := reCallEnded.FindStringSubmatch(g.log.String())
	if m == nil {
		t.Fatalf("no counters in the call ended line:\n%s", g.log.String())
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	t.Logf("relayed RTP: caller→callee %d packets, callee→caller %d packets", a, b)
	if a < 20 || b < 20 {
		t.Errorf("RTP did not flow both ways: caller→callee %d, callee→caller %d packets", a, b)
	}
	r := waitCDR(t, g, "u1001")
	if r.Caller != "u1000" || r.Callee != "1001" || r.Direction != cdr.Local || r.AnsweredBy != "u1001" ||
		r.Status != 200 || r.Cause != "normal" || r.EndedBy != "caller" || r.MediaA.Packets == 0 || r.MediaB.Packets == 0 {
		t.Errorf("CDR %+v", r)
	}
}

// waitCDR polls GET /api/v1/history for user until a record is there (the
// record queue writes it a moment after the call ends) and returns the
// newest.
//
// With match, it waits for the newest record that matches: a gateway that
// carried several calls of user writes each record a moment after its call
// ends (records are written in batches), so the newest one listed may be
// an earlier call's.
func waitCDR(t *testing.T, g *gateway, user string, match ...func(cdr.Record) bool) cdr.Record {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := g.api("GET", "/api/v1/history?user="+user)
		if code != http.StatusOK {
			t.Fatalf("GET /api/v1/history: %d %s", code, body)
		}
		var p struct {
			Calls []cdr.Record `json:"calls"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatalf("calls: %v: %s", err, body)
		}
	calls:
		for _, r := range p.Calls {
			for _, m := range match {
				if !m(r) {
					continue calls
				}
			}
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching call record for %s within 10s: %s", user, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
