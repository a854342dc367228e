package webrtc_test

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	psdp "github.com/pion/sdp/v3"
	pwebrtc "github.com/pion/webrtc/v4"

	"github.com/switchboard-gw/switchboard/media/sdp"
	"github.com/switchboard-gw/switchboard/media/webrtc"
)

// line returns the first line of body matching re (its first group), or "".
func line(body []byte, re string) string {
	m := regexp.MustCompile(`(?m)` + re).FindSubmatch(body)
	if m == nil {
		return ""
	}
	return string(m[1])
}

func origin(t *testing.T, body []byte) psdp.Origin {
	t.Helper()
	sd := &psdp.SessionDescription{}
	if err := sd.Unmarshal(body); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	return sd.Origin
}

func dirOf(t *testing.T, body []byte) string {
	t.Helper()
	d := line(body, `^a=(sendrecv|sendonly|recvonly|inactive)\r$`)
	if d == "" {
		t.Fatalf("no direction attribute:\n%s", body)
	}
	return d
}

// withDir is a browser's SDP with its direction attribute replaced.
func withDir(body []byte, dir string) []byte {
	return regexp.MustCompile(`(?m)^a=(sendrecv|sendonly|recvonly|inactive)\r?$`).ReplaceAll(body, []byte("a="+dir+"\r"))
}

// TestBrowserHoldsCaller: a browser that called puts the call on hold and
// resumes (RFC 3264 §8.4, as JsSIP does: a re-INVITE with a=sendonly, then
// a=sendrecv, the same ICE and DTLS). The leg gives the other leg a plain
// sendonly offer at its RTP face, and the browser an answer with recvonly,
// the same fingerprint, ICE credentials and a=setup:active, the o= version
// one up; the browser takes it and audio flows after the resume. A re-offer
// with new ICE credentials (an ICE restart) is ErrRestart.
func TestBrowserHoldsCaller(t *testing.T) {
	e := newEngine(t, 10*time.Second)
	b := newBrowser(t)
	offer, err := b.Offer()
	if err != nil {
		t.Fatal(err)
	}
	leg, plain, err := e.AcceptOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Close()
	p := newPhone(t)
	ans, pt, ev := plainAnswer(t, plain, p.addr(), "PCMU")
	wans, err := leg.Answer(ans, p.addr())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Accept(wans); err != nil {
		t.Fatal(err)
	}
	b.Stream(false)
	p.stream(leg.LocalAddr(), pt, ev)
	eventually(t, 15*time.Second, "audio both ways", func() bool {
		_, rx, _ := b.Counts()
		return rx >= 20 && p.count(pt) >= 20
	})

	ver := origin(t, wans).SessionVersion
	for i, dir := range []string{"sendonly", "sendrecv"} {
		re, err := b.Offer()
		if err != nil {
			t.Fatal(err)
		}
		re = withDir(re, dir)
		po, err := leg.Reoffer(re)
		if err != nil {
			t.Fatalf("%s: Reoffer: %v\n%s", dir, err, re)
		}
		if got := dirOf(t, po); got != dir {
			t.Errorf("%s: plain offer direction %s:\n%s", dir, got, po)
		}
		if bytes.Contains(po, []byte("fingerprint")) || !bytes.Contains(po, []byte(fmt.Sprintf("m=audio %d RTP/AVP %d", leg.LocalAddr().Port(), pt))) {
			t.Errorf("%s: plain offer is not the leg's face with the codec in use:\n%s", dir, po)
		}
		answerDir := map[string]string{"sendonly": "recvonly", "sendrecv": "sendrecv"}[dir]
		pa := withDir(ans, answerDir)
		wa, err := leg.Reanswer(pa)
		if err != nil {
			t.Fatalf("%s: Reanswer: %v", dir, err)
		}
		if got := dirOf(t, wa); got != answerDir {
			t.Errorf("%s: browser's answer direction %s, want %s:\n%s", dir, got, answerDir, wa)
		}
		for _, k := range []string{`^a=fingerprint:(.*)\r$`, `^a=ice-ufrag:(.*)\r$`, `^a=ice-pwd:(.*)\r$`, `^a=setup:(.*)\r$`, `^a=candidate:(.*)\r$`} {
			if line(wa, k) != line(wans, k) || line(wa, k) == "" {
				t.Errorf("%s: %s is %q, was %q", dir, k, line(wa, k), line(wans, k))
			}
		}
		o := origin(t, wa)
		if o.SessionID != origin(t, wans).SessionID || o.SessionVersion != ver+uint64(i)+1 {
			t.Errorf("%s: o= %d %d, want session %d version %d", dir, o.SessionID, o.SessionVersion, origin(t, wans).SessionID, ver+uint64(i)+1)
		}
		if err := b.Accept(wa); err != nil {
			t.Fatalf("%s: the browser refused the answer: %v\n%s", dir, err, wa)
		}
		if f, err := leg.Face(); err != nil || dirOf(t, f) != dir || bytes.Contains(f, []byte("SAVPF")) {
			t.Errorf("%s: the leg's face as the session stands: %v\n%s", dir, err, f)
		}
	}
	_, rx0, _ := b.Counts()
	n0 := p.count(pt)
	eventually(t, 15*time.Second, "audio both ways after the resume", func() bool {
		_, rx, _ := b.Counts()
		return rx >= rx0+20 && p.count(pt) >= n0+20
	})
	if _, err := leg.Reanswer(ans); err == nil {
		t.Error("Reanswer without a pending offer: no error")
	}
	// A session refresh by re-INVITE: the B2BUA re-offers what it last
	// sent the browser (our answer); unchanged, so the same o= version
	// (RFC 3264 §8), our role, and the browser takes it.
	last := origin(t, wans).SessionVersion + 2
	ref, err := leg.OfferAgain(wans)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if o := origin(t, ref); o.SessionVersion != last || dirOf(t, ref) != "sendrecv" || line(ref, `^a=setup:(.*)\r$`) != "active" {
		t.Errorf("refresh offer: o= version %d (want %d), a=%s, a=setup:%s", o.SessionVersion, last, dirOf(t, ref), line(ref, `^a=setup:(.*)\r$`))
	}
	if _, err := b.Answer(ref); err != nil {
		t.Errorf("the browser refused the refresh offer: %v\n%s", err, ref)
	}

	other := newBrowser(t)
	restart, err := other.Offer()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leg.Reoffer(restart); !errors.Is(err, webrtc.ErrRestart) || !errors.Is(err, sdp.ErrMalformed) {
		t.Errorf("re-offer with a new fingerprint: %v, want ErrRestart (488)", err)
	}
	if _, err := leg.Reoffer([]byte("v=0\r\nbogus")); err == nil {
		t.Error("malformed re-offer accepted")
	}
}

// TestPhoneHoldsCalledBrowser: the other party of a called browser holds
// (a plain sendonly re-offer): the browser gets a WebRTC offer with
// a=sendonly, the same ICE-lite credentials and fingerprint, a=setup with
// the role established (RFC 8842 §5.5: the opposite of the browser's answer),
// the o= version one up; its recvonly answer becomes a plain recvonly
// answer. The same offer again (a session refresh) keeps the version.
func TestPhoneHoldsCalledBrowser(t *testing.T) {
	e := newEngine(t, 10*time.Second)
	p := newPhone(t)
	plainOffer := fmt.Sprintf("v=0\r\no=pbx 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n"+
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n", p.addr().Port())
	if _, _, err := e.Offer([]byte("v=0\r\n"), p.addr()); err == nil {
		t.Error("malformed plain offer accepted")
	}
	leg, offer, err := e.Offer([]byte(plainOffer), p.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Close()
	if _, err := leg.OfferAgain([]byte(plainOffer)); err == nil {
		t.Error("OfferAgain before the browser answered: no error")
	}
	b := newBrowser(t, pwebrtc.MimeTypePCMA)
	answer, err := b.Answer(offer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leg.Accept(answer); err != nil {
		t.Fatal(err)
	}
	b.Stream(false)
	p.stream(leg.LocalAddr(), 8, 101)
	eventually(t, 15*time.Second, "audio both ways", func() bool {
		_, rx, _ := b.Counts()
		return rx >= 20 && p.count(8) >= 20
	})
	role := map[string]string{"active": "passive", "passive": "active"}[line(answer, `^a=setup:(.*)\r$`)]
	if role == "" {
		t.Fatalf("test browser answered a=setup:%q", line(answer, `^a=setup:(.*)\r$`))
	}
	ver := origin(t, offer).SessionVersion
	for i, c := range []struct{ dir, answer string }{{"sendonly", "recvonly"}, {"sendrecv", "sendrecv"}, {"sendrecv", "sendrecv"}} {
		wo, err := leg.OfferAgain(withDir([]byte(plainOffer), c.dir))
		if err != nil {
			t.Fatalf("%s: OfferAgain: %v", c.dir, err)
		}
		if got := dirOf(t, wo); got != c.dir {
			t.Errorf("%s: offer direction %s:\n%s", c.dir, got, wo)
		}
		if got := line(wo, `^a=setup:(.*)\r$`); got != role {
			t.Errorf("%s: a=setup:%s, want %s (the established role)", c.dir, got, role)
		}
		for _, k := range []string{`^a=fingerprint:(.*)\r$`, `^a=ice-ufrag:(.*)\r$`, `^a=ice-pwd:(.*)\r$`, `^a=(ice-lite)\r$`} {
			if line(wo, k) != line(offer, k) || line(wo, k) == "" {
				t.Errorf("%s: %s is %q, was %q", c.dir, k, line(wo, k), line(offer, k))
			}
		}
		want := ver + uint64(min(i, 1)) + 1 // the third offer is the second again
		if o := origin(t, wo); o.SessionVersion != want {
			t.Errorf("offer %d (%s): o= version %d, want %d", i, c.dir, o.SessionVersion, want)
		}
		wa, err := b.Answer(wo)
		if err != nil {
			t.Fatalf("%s: the browser refused the offer: %v\n%s", c.dir, err, wo)
		}
		pa, err := leg.AcceptAgain(wa)
		if err != nil {
			t.Fatalf("%s: AcceptAgain: %v\n%s", c.dir, err, wa)
		}
		if got := dirOf(t, pa); got != c.answer {
			t.Errorf("%s: plain answer direction %s, want %s:\n%s", c.dir, got, c.answer, pa)
		}
		if !bytes.Contains(pa, []byte(fmt.Sprintf("m=audio %d RTP/AVP 8", leg.LocalAddr().Port()))) {
			t.Errorf("%s: plain answer is not the leg's face with PCMA:\n%s", c.dir, pa)
		}
	}
	_, rx0, _ := b.Counts()
	n0 := p.count(8)
	eventually(t, 15*time.Second, "audio both ways after the resume", func() bool {
		_, rx, _ := b.Counts()
		return rx >= rx0+20 && p.count(8) >= n0+20
	})
	if _, err := leg.AcceptAgain(newOffer(t)); !errors.Is(err, webrtc.ErrRestart) {
		t.Errorf("answer from another browser: %v, want ErrRestart", err)
	}
}

func newOffer(t *testing.T) []byte {
	t.Helper()
	o, err := newBrowser(t).Offer()
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestBrowserRestartsICE: a browser's re-offer with new ICE credentials and
// the same fingerprint (RFC 8445 §9, RFC 8839 §4.4.1.1.1; Chrome's
// pc.restartIce()) restarts ICE: the other leg gets the same plain offer,
// the browser an answer with new ICE-lite credentials, the same
// fingerprint, role and session (o= version one up), and the call keeps
// its media, on the fast path, after the browser checks the new
// credentials. Twice, to show the restarted leg can restart again.
func TestBrowserRestartsICE(t *testing.T) {
	e := newEngine(t, 10*time.Second)
	b := newBrowser(t)
	offer, err := b.Offer()
	if err != nil {
		t.Fatal(err)
	}
	leg, plain, err := e.AcceptOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Close()
	p := newPhone(t)
	ans, pt, ev := plainAnswer(t, plain, p.addr(), "PCMU")
	wans, err := leg.Answer(ans, p.addr())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Accept(wans); err != nil {
		t.Fatal(err)
	}
	b.Stream(false)
	p.stream(leg.LocalAddr(), pt, ev)
	eventually(t, 15*time.Second, "audio both ways", func() bool {
		_, rx, _ := b.Counts()
		return rx >= 20 && p.count(pt) >= 20
	})
	prev, prevOffer := wans, offer
	for i := range 2 {
		re, err := b.RestartOffer()
		if err != nil {
			t.Fatal(err)
		}
		if line(re, `^a=ice-ufrag:(.*)\r$`) == line(prevOffer, `^a=ice-ufrag:(.*)\r$`) {
			t.Fatalf("restart %d: the browser kept its ufrag", i)
		}
		po, err := leg.Reoffer(re)
		if err != nil {
			t.Fatalf("restart %d: Reoffer: %v", i, err)
		}
		if dirOf(t, po) != "sendrecv" || bytes.Contains(po, []byte("ice-ufrag")) {
			t.Errorf("restart %d: plain offer:\n%s", i, po)
		}
		wa, err := leg.Reanswer(ans)
		if err != nil {
			t.Fatalf("restart %d: Reanswer: %v", i, err)
		}
		for _, k := range []string{`^a=ice-ufrag:(.*)\r$`, `^a=ice-pwd:(.*)\r$`} {
			if line(wa, k) == line(prev, k) || line(wa, k) == "" {
				t.Errorf("restart %d: %s unchanged (%q)", i, k, line(wa, k))
			}
		}
		// the same candidates (address, port, type); their ufrag and
		// generation extensions change with the credentials
		for _, k := range []string{`^a=fingerprint:(.*)\r$`, `^a=setup:(.*)\r$`, `^a=candidate:(\S+ \S+ \S+ \S+ \S+ \S+ typ \S+)`, `^a=(ice-lite)\r$`} {
			if line(wa, k) != line(prev, k) || line(wa, k) == "" {
				t.Errorf("restart %d: %s is %q, was %q", i, k, line(wa, k), line(prev, k))
			}
		}
		if o, o0 := origin(t, wa), origin(t, prev); o.SessionID != o0.SessionID || o.SessionVersion != o0.SessionVersion+1 {
			t.Errorf("restart %d: o= %d %d after %d %d", i, o.SessionID, o.SessionVersion, o0.SessionID, o0.SessionVersion)
		}
		if err := b.Accept(wa); err != nil {
			t.Fatalf("restart %d: the browser refused the answer: %v\n%s", i, err, wa)
		}
		_, rx0, _ := b.Counts()
		n0 := p.count(pt)
		eventually(t, 15*time.Second, "audio both ways after the restart", func() bool {
			_, rx, _ := b.Counts()
			return rx >= rx0+50 && p.count(pt) >= n0+50
		})
		fastPath(t, leg)
		prev, prevOffer = wa, re
	}
	if err := leg.Err(); err != nil {
		t.Errorf("leg ended: %v", err)
	}
}
