package config

import "fmt"

// Warnings returns what Load or Parse found questionable but valid, such as
// a trusted prefix wider than /24, each with its line. The gateway logs
// them at start and check-config prints them.
func (c *Config) Warnings() Errors { return c.warnings }

// warnf records a warning about the key at path.
func (d *decoder) warnf(path, format string, args ...any) {
	if len(d.warns) < maxErrors {
		d.warns = append(d.warns, Error{File: d.file, Line: d.lineOf(path), Key: path, Msg: fmt.Sprintf(format, args...)})
	}
}
