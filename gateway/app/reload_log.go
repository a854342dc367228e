package app

import (
	"log/slog"
	"os"

	"github.com/switchboard-gw/switchboard/gateway/config"
)

// SetupLogger builds the slog logger the config asks for. Its level is a
// slog.LevelVar that a reload changes (log.level); the format needs a
// restart.
func SetupLogger(cfg *config.Config) *slog.Logger {
	lv := new(slog.LevelVar)
	lv.Set(logLevel(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	if cfg.Log.Format == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	} else {
		h = slog.NewTextHandler(os.Stderr, opts)
	}
	return slog.New(&levelHandler{Handler: h, level: lv})
}

// logLevel parses log.level (validated); unknown is info.
func logLevel(s string) slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(s))
	return l
}

// levelHandler is SetupLogger's handler: it carries the LevelVar so that
// New finds it in the logger it is given. The handlers derived from it
// (With) share the LevelVar through the options.
type levelHandler struct {
	slog.Handler
	level *slog.LevelVar
}

// LevelVar returns the level a reload sets.
func (h *levelHandler) LevelVar() *slog.LevelVar { return h.level }

// logLevelVar is the LevelVar of a logger made by SetupLogger (or by any
// handler with a LevelVar method), nil for another logger: then log.level
// needs a restart.
func logLevelVar(log *slog.Logger) *slog.LevelVar {
	if h, ok := log.Handler().(interface{ LevelVar() *slog.LevelVar }); ok {
		return h.LevelVar()
	}
	return nil
}
