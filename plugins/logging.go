package plugins

import (
	"bytes"
	"io"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// newHCLogger gives go-plugin (which logs through hclog) a logger that
// writes into l: go-plugin's own messages and each line a driver writes to
// its stderr.
func newHCLogger(l *slog.Logger, driver string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:        "driver." + driver,
		Level:       hclog.Info,
		Output:      slogWriter{l: l.With("driver", driver)},
		DisableTime: true,
	})
}

// slogWriter logs each line written to it.
type slogWriter struct{ l *slog.Logger }

var _ io.Writer = slogWriter{}

func (w slogWriter) Write(p []byte) (int, error) {
	for line := range bytes.SplitSeq(bytes.TrimRight(p, "\n"), []byte("\n")) {
		if len(line) > 0 {
			w.l.Info(string(line))
		}
	}
	return len(p), nil
}
