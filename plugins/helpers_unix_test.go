//go:build unix

package plugins_test

import (
	"log/slog"
	"syscall"
	"testing"
)

var signalZero = syscall.Signal(0)

// plainProcAttr is a SysProcAttr without a parent-death signal.
func plainProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }

func testLogger(t *testing.T) *slog.Logger { return slog.New(slog.NewTextHandler(tWriter{t}, nil)) }

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
