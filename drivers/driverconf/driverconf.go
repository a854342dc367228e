// Package driverconf holds what every CTI driver's config section has in
// common: the [Duration] JSON type, strict decoding, defaults, the checks
// of the settings all drivers share (reconnect backoff, request timeout)
// and reading tls_ca_file. What a vendor's config means stays in the vendor's package.
package driverconf

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

// Duration is a time.Duration that reads a Go duration string ("180s") or
// a number of seconds, and writes the string form.
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("duration %s: want a string like \"30s\" or seconds", b)
	}
	*d = Duration(f * float64(time.Second))
	return nil
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Default sets *d to v when it is zero (not set).
func Default(d *Duration, v time.Duration) {
	if *d == 0 {
		*d = Duration(v)
	}
}

// DecodeStrict decodes a JSON config into v: unknown keys are errors, and
// empty (or all white space) input leaves v as it is. Errors are prefixed
// with name ("mitel config: ...").
func DecodeStrict(name string, b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// Problems collects every problem a Validate finds, so all are reported at
// once. The zero value is not usable; call [NewProblems].
type Problems struct {
	prefix string
	errs   []error
}

// NewProblems returns a collector whose errors start with name ("mitel
// config").
func NewProblems(name string) *Problems { return &Problems{prefix: name + ": "} }

// Add records a problem; f and a are as for fmt.Errorf.
func (p *Problems) Add(f string, a ...any) { p.errs = append(p.errs, fmt.Errorf(p.prefix+f, a...)) }

// Backoff checks the reconnect backoff bounds every driver has
// (reconnect_min, reconnect_max: 0 < min <= max).
func (p *Problems) Backoff(lo, hi Duration) {
	if lo <= 0 || hi < lo {
		p.Add("reconnect_min %s / reconnect_max %s: want 0 < min <= max", time.Duration(lo), time.Duration(hi))
	}
}

// RequestTimeout checks request_timeout is positive.
func (p *Problems) RequestTimeout(d Duration) {
	if d <= 0 {
		p.Add("request_timeout must be positive")
	}
}

// Err returns the problems joined, nil when there are none.
func (p *Problems) Err() error { return errors.Join(p.errs...) }

// LoadCAFile reads the PEM file of a config's tls_ca_file: the CAs a
// server certificate is checked against. An empty file is nil, the
// system roots. Errors are plugins.ErrInvalidArgument, prefixed with name
// ("mitel config").
func LoadCAFile(name, file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: tls_ca_file: %w: %w", name, plugins.ErrInvalidArgument, err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: tls_ca_file %s: %w: no PEM certificates", name, file, plugins.ErrInvalidArgument)
	}
	return roots, nil
}
