package cisco

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/cisco/xsi"
	"github.com/switchboard-gw/switchboard/drivers/driverconf"
	"github.com/switchboard-gw/switchboard/plugins"
)

// Errors the driver returns besides the plugins ones.
var (
	// ErrAuth: the Xsi server refused the credentials (401) or the
	// action (403).
	ErrAuth = errors.New("cisco: xsi authentication refused")
	// ErrChannel: the event channel failed (closed, stalled, terminated,
	// unreadable).
	ErrChannel = errors.New("cisco: xsi event channel failed")
)

// maxResponse bounds an Xsi-Actions response body.
const maxResponse = 1 << 20

// StatusError is an Xsi answer other than 2xx, with its ErrorInfo.
type StatusError struct {
	Method, Path string
	Status       int
	Info         xsi.ErrorInfo
}

func (e *StatusError) Error() string {
	msg := strings.TrimSpace(e.Info.SummaryEnglish)
	if msg == "" {
		msg = strings.TrimSpace(e.Info.Summary)
	}
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Info.ErrorCode != 0 {
		return fmt.Sprintf("xsi %s %s: %d %s (error %d)", e.Method, e.Path, e.Status, msg, e.Info.ErrorCode)
	}
	return fmt.Sprintf("xsi %s %s: %d %s", e.Method, e.Path, e.Status, msg)
}

// Unwrap maps the HTTP status to the plugins error the host understands:
// 400 → failed precondition (the driver checks its arguments first, so a
// 400 is the call's state), 401/403 → ErrAuth and invalid argument, 404 →
// not found, 5xx → unavailable.
func (e *StatusError) Unwrap() []error {
	switch {
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return []error{ErrAuth, plugins.ErrInvalidArgument}
	case e.Status == http.StatusNotFound:
		return []error{plugins.ErrNotFound}
	case e.Status >= 500:
		return []error{plugins.ErrUnavailable}
	}
	return []error{plugins.ErrFailedPrecondition}
}

// newHTTP makes the two HTTP clients: one for requests (with a timeout
// per request from their ctx), one for the never-ending event channel. Both
// share a cookie jar, so heartbeats and event responses reach the server
// holding the channel when a load balancer pins by cookie (§4.2 step 7).
func newHTTP(c Config) (req, stream *http.Client, err error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLSServerName,
		InsecureSkipVerify: c.TLSInsecureSkipVerify} //nolint:gosec // lab option, off by default
	if tc.RootCAs, err = driverconf.LoadCAFile("cisco config", c.TLSCAFile); err != nil {
		return nil, nil, err
	}
	jar, _ := cookiejar.New(nil)
	transport := func() *http.Transport {
		return &http.Transport{
			DialContext:           (&net.Dialer{Timeout: time.Duration(c.RequestTimeout), KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       tc.Clone(),
			TLSHandshakeTimeout:   time.Duration(c.RequestTimeout),
			ResponseHeaderTimeout: time.Duration(c.RequestTimeout),
			// As many kept-alive connections as the host sends
			// MonitorStarts at once in a restore (plugins'
			// RestoreParallelism, 64): with 16 the other 48 requests
			// each paid a TLS handshake, 3x the restore's time
			// (ctibench, 500 devices, alternated: 3.4/8.3 s vs 1.0/2.8 s).
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		}
	}
	return &http.Client{Transport: transport(), Jar: jar}, &http.Client{Transport: transport(), Jar: jar}, nil
}

// do sends one Xsi request: body (if not nil) marshalled as XML, the
// answer decoded into out (if not nil). The path is under the base URL.
func (d *Driver) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	return d.doWith(ctx, d.httpc, method, path, query, body, out)
}

// doWith is do on client c.
func (d *Driver) doWith(ctx context.Context, c *http.Client, method, path string, query url.Values, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(d.cfg.RequestTimeout))
	defer cancel()
	resp, err := d.send(ctx, c, method, path, query, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return fmt.Errorf("xsi %s %s: %w: %w", method, path, plugins.ErrUnavailable, err)
	}
	if len(b) > maxResponse {
		return fmt.Errorf("xsi %s %s: answer larger than %d bytes", method, path, maxResponse)
	}
	if resp.StatusCode/100 != 2 {
		se := &StatusError{Method: method, Path: path, Status: resp.StatusCode}
		_ = xsi.Unmarshal(b, &se.Info)
		return se
	}
	if out != nil {
		if err := xsi.Unmarshal(b, out); err != nil {
			return fmt.Errorf("xsi %s %s: answer: %w", method, path, err)
		}
	}
	return nil
}

// send builds and sends a request with Basic (or Bearer) authentication.
func (d *Driver) send(ctx context.Context, c *http.Client, method, path string, query url.Values, body any) (*http.Response, error) {
	u := *d.cfg.base
	u.Path = path
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		b, err := xsi.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("xsi %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("xsi %s %s: %w", method, path, err)
	}
	if d.cfg.BearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+d.cfg.BearerToken)
	} else {
		req.SetBasicAuth(d.cfg.User, d.cfg.Password)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/xml; charset=UTF-8")
	}
	req.Header.Set("Accept", "application/xml")
	resp, err := c.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("xsi %s %s: %w", method, path, ctx.Err())
		}
		return nil, fmt.Errorf("xsi %s %s: %w: %w", method, path, plugins.ErrUnavailable, err)
	}
	return resp, nil
}

// userPath is ActionsRoot/user/{userId} + rest.
func userPath(uid, rest string) string {
	return xsi.ActionsRoot + "/user/" + url.PathEscape(uid) + rest
}
