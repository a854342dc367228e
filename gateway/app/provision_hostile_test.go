package app

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawHTTP sends raw bytes to addr over plain TCP and returns the status
// line of the answer ("" when the server closed without one).
func rawHTTP(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = c.Write([]byte(req))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line)
}

// TestProvisioningListenerHostile: the plain HTTP provisioning listener
// answers malformed, oversized and unexpected requests with errors, serves
// nothing but the settings files, and keeps answering a flood.
func TestProvisioningListenerHostile(t *testing.T) {
	a := runApp(t, "provisioning: {http_listen: 127.0.0.1:0}\n", nil)
	_, plain := a.ProvisioningAddrs()
	for _, tc := range []struct{ name, req, want string }{
		{"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", "HTTP/1.1 400"},
		{"bad request line", "GET\r\n\r\n", "HTTP/1.1 400"},
		{"oversized header", "GET /46xxsettings.txt HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", httpMaxHeaderBytes+4096) + "\r\n\r\n", "HTTP/1.1 431"},
		{"post", "POST /46xxsettings.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 405"},
		{"api", "GET /api/v1/registrations HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404"},
		{"traversal", "GET /../switchboard.db HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 307"}, // to /switchboard.db: 404
		{"encoded traversal", "GET /%2e%2e/admin.password HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404"},
		{"dot segments", "GET /46xxspecials.txt/../admin.password HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 307"},
		{"data file", "GET /admin.password HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404"},
	} {
		if got := rawHTTP(t, plain, tc.req); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: %q, want %s", tc.name, got, tc.want)
		}
	}
	// A flood of parallel fetches: every one is answered with the file.
	var wg sync.WaitGroup
	var mu sync.Mutex
	fails := 0
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 32}}
	start := time.Now()
	for i := 0; i < 400; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Get("http://" + plain + "/46xxsettings.txt")
			ok := err == nil && res.StatusCode == 200
			if err == nil {
				res.Body.Close()
			}
			if !ok {
				mu.Lock()
				fails++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("400 fetches in %v", time.Since(start))
	if fails != 0 {
		t.Errorf("%d of 400 fetches failed", fails)
	}
	if code, body := get(t, clientFrom("127.0.0.1"), "https://"+a.AdminAddr()+"/46xxsettings.txt"); code != 200 || !strings.Contains(body, "SIPDOMAIN") {
		t.Errorf("after the flood: %d", code)
	}
}
