package pbxlink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"time"
)

// TLS is how a driver checks its PBX's certificate.
type TLS struct {
	// ServerName is the name checked (default: the address's host).
	ServerName string
	// Roots are the CAs trusted (nil: the system roots).
	Roots *x509.CertPool
	// InsecureSkipVerify skips the checks (lab use only).
	InsecureSkipVerify bool
}

// Dial opens a TCP connection to addr (host:port) within timeout, with
// TCP keep-alives every 30s, and TLS 1.2 or later on it when t is not nil.
func Dial(ctx context.Context, addr string, timeout time.Duration, t *TLS) (net.Conn, error) {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if t == nil {
		return dialer.DialContext(ctx, "tcp", addr)
	}
	name := t.ServerName
	if name == "" {
		name, _, _ = net.SplitHostPort(addr)
	}
	td := &tls.Dialer{NetDialer: dialer, Config: &tls.Config{ServerName: name, RootCAs: t.Roots,
		InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12}} //nolint:gosec // lab option, off by default
	return td.DialContext(ctx, "tcp", addr)
}
