package e2e

// A transfer target on a trunk that asks what a new call's trunk may ask
// (issue 11): digest credentials (RFC 3261 §22.2) and a larger session
// interval (RFC 4028 §7.3). The target is SIPp, which checks what it gets
// itself (lab/sipp/xfer_target_*_uas.xml) and exits non-zero when the
// INVITE sent again is wrong or never comes.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// xferTrunkConfig routes 2000 to the PBX at pbxAddr and 2001 to a second
// trunk, the SIPp target on 127.0.0.2:targetPort, with credentials.
func xferTrunkConfig(pbxAddr string, targetPort int) string {
	return fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
security: {trusted_callers: [127.0.0.0/8], exempt_sources: [127.0.0.0/8]}
trunks:
  - name: pbx
    target: sip:%s
    probe: {interval: 0s}
    match: ["2000"]
  - name: target
    target: sip:127.0.0.2:%d
    probe: {interval: 0s}
    match: ["2001"]
    auth: {user: gw, password: "s3cret"}
`, pbxAddr, targetPort)
}

// sippTarget runs a SIPp UAS scenario for one call on 127.0.0.2:port and
// reports its exit (nil: the call succeeded as the scenario checks it).
func sippTarget(t *testing.T, scenario string, port int, extra ...string) <-chan error {
	t.Helper()
	sipp := requireTool(t, "sipp")
	args := append([]string{"-sf", filepath.Join(sippDir(t), scenario), "-i", "127.0.0.2",
		"-p", strconv.Itoa(port), "-mp", strconv.Itoa(freeUDPPort(t, "127.0.0.2")),
		"-cp", strconv.Itoa(freeUDPPort(t, "127.0.0.2")), "-m", "1", "-rtp_echo",
		"-nostdin", "-timeout", "60s", "-timeout_error", "-trace_err"}, extra...)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, sipp, args...)
	cmd.Dir = t.TempDir()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done, exited := make(chan error, 1), make(chan struct{})
	go func() {
		err := cmd.Wait()
		if err != nil {
			errs, _ := filepath.Glob(filepath.Join(cmd.Dir, "*_errors.log"))
			for _, f := range errs {
				b, _ := os.ReadFile(f)
				err = fmt.Errorf("%w\nerrors log:\n%s", err, tail(string(b), 2000))
			}
		}
		close(exited)
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("sipp %s output (tail):\n%s", scenario, tail(out.String(), 2500))
		}
	})
	time.Sleep(300 * time.Millisecond) // SIPp binds its sockets
	return done
}

// blindTransferTo2001 has the phone call 2000 on pbx and REFER it to
// 2001, and checks the transfer completes: NOTIFY 100 then 200 OK
// (RFC 3515 §2.4.5), the phone's leg ended. 2000 then hangs up, which
// ends the call towards 2001.
func blindTransferTo2001(t *testing.T, g *gateway, pbx *farEnd) {
	t.Helper()
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0, 101))
	b := pbx.get("2000")
	res := inDialog(ctx, t, s, sip.REFER, "", "", sip.NewHeader("Refer-To", "<sip:2001@example.com>"))
	if res.StatusCode != 202 {
		t.Fatalf("REFER: %d %s\n%s", res.StatusCode, res.Reason, g.log.String())
	}
	cid := s.InviteRequest.CallID().Value()
	ph.expectNotify(cid, "SIP/2.0 100 Trying")
	ph.expectNotify(cid, "SIP/2.0 200 OK")
	ph.expectBye(cid)
	g.waitLog(`msg="call transferred"`, 5*time.Second)
	if err := agentBye(ctx, b.dlg, pbx.agent.addr); err != nil {
		t.Fatalf("BYE from 2000: %v", err)
	}
}

// waitTarget waits for the SIPp target's exit (its checks passed and its
// call ended with our BYE).
func waitTarget(t *testing.T, g *gateway, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the SIPp target failed: %v\ngateway:\n%s", err, tail(g.log.String(), 3000))
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the SIPp target's call did not end\ngateway:\n%s", tail(g.log.String(), 3000))
	}
}

// TestBlindTransferTargetChallenges: the transfer target's trunk
// challenges every INVITE (401, MD5, qop=auth): the INVITE goes again with
// the trunk's credentials, SIPp verifies the digest (verifyauth), the
// target answers and the transfer completes. Before, the transfer path
// did not answer challenges (only a new call did): the transferor got
// NOTIFY 401 and the transferee stayed with it.
func TestBlindTransferTargetChallenges(t *testing.T) {
	port := freeUDPPort(t, "127.0.0.2")
	done := sippTarget(t, "xfer_target_auth_uas.xml", port, "-set", "user", "gw", "-set", "password", "s3cret")
	pbx := newFarEnd(t, nil)
	g := startGateway(t, xferTrunkConfig(pbx.agent.addr, port))
	blindTransferTo2001(t, g, pbx)
	waitTarget(t, g, done)
}

// TestBlindTransferTarget422: we ask for 600 s (calls.session_expires);
// the transfer target answers 422 with Min-SE: 1800 (RFC 4028 §6) and
// gets the INVITE again with Session-Expires and Min-SE of at least 1800
// (§7.3, SIPp checks both), answers, and the transfer completes. Before, the transfer path passed
// the 422 on as the outcome: NOTIFY 422, no transfer.
func TestBlindTransferTarget422(t *testing.T) {
	port := freeUDPPort(t, "127.0.0.2")
	done := sippTarget(t, "xfer_target_422_uas.xml", port)
	pbx := newFarEnd(t, nil)
	g := startGateway(t, xferTrunkConfig(pbx.agent.addr, port)+"calls: {session_expires: 600s}\n")
	blindTransferTo2001(t, g, pbx)
	waitTarget(t, g, done)
}
