package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/switchboard-gw/switchboard/gateway/app"
	"github.com/switchboard-gw/switchboard/gateway/config"
)

// gcPercent is the garbage collector target used unless GOGC is set.
const gcPercent = 400

func cmdServe(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (default: built-in local defaults)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	log := app.SetupLogger(cfg)
	if os.Getenv("GOGC") == "" {
		// The heap is small and short-lived per request; collecting less
		// often buys CPU for SIP at the price of a few MB (GOGC overrides).
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go watchMemory(ctx, log) // memwatch.go: memory back to the kernel after a burst

	a, err := app.New(ctx, cfg, *cfgPath, log)
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	removePID, err := writePIDFile(cfg.DataDir) // reload.go
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	defer removePID()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = a.Reload(ctx) // logs its result, keeps it for the API and `switchboard reload`
			}
		}
	}()
	if err := a.Run(ctx); err != nil {
		log.Error("stopped with error", "error", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// loadConfig loads path, or the defaults when path is empty.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	cfg, err := config.Load(path)
	if err != nil {
		if errs := configErrors(err); errs != nil {
			return nil, fmt.Errorf("%s has errors:\n%w", path, err)
		}
		return nil, err
	}
	return cfg, nil
}

func cmdCheckConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: switchboard check-config FILE")
		return 2
	}
	cfg, err := config.Load(args[0])
	if err != nil {
		if errs := configErrors(err); errs != nil {
			for _, e := range errs {
				fmt.Fprintln(stderr, e.Error())
			}
		} else {
			fmt.Fprintf(stderr, "%s: %v\n", args[0], err)
		}
		return 1
	}
	for _, w := range cfg.Warnings() {
		w.Msg = "warning: " + w.Msg
		fmt.Fprintln(stderr, w.Error())
	}
	fmt.Fprintf(stdout, "%s: ok\n", args[0])
	return 0
}

// configErrors returns the per-line errors inside err, if it carries them.
func configErrors(err error) config.Errors {
	var p *config.Errors
	if errors.As(err, &p) && p != nil {
		return *p
	}
	var v config.Errors
	if errors.As(err, &v) {
		return v
	}
	return nil
}
