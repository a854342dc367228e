// Package sdk is what a CTI driver author imports. Implement [Driver] (plus
// any of the optional service interfaces: [MakeCaller], [Holder], ...),
// emit events through an [Events], and call [Serve] from main:
//
//	func main() { sdk.Serve(&myDriver{ev: sdk.NewEvents(0)}) }
//
// The SDK derives the driver's capabilities from the interfaces it
// implements, so a driver never declares a service it lacks, and answers
// every other service with a "not supported" error (gRPC UNIMPLEMENTED). It
// hides go-plugin: the handshake, mutual TLS and the gRPC server are set up
// by [Serve], and the process exits when the host that started it dies.
package sdk

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/switchboard-gw/switchboard/plugins"
)

// Driver is the part of the driver protocol every driver implements.
// Methods are called concurrently; each ctx carries the host's deadline.
type Driver interface {
	// Start receives the driver's config (JSON) and connects to the PBX.
	Start(ctx context.Context, req plugins.StartRequest) error
	// MonitorStart starts monitoring device and returns the monitor id its
	// events carry; an existing monitor returns its id.
	MonitorStart(ctx context.Context, device string) (string, error)
	// MonitorStop stops monitoring device.
	MonitorStop(ctx context.Context, device string) error
	// Snapshot returns the device's calls and features. Set Seq to the
	// sequence number of the last event already reflected (Events.Seq
	// read under the same lock that guards the state).
	Snapshot(ctx context.Context, device string) (plugins.DeviceSnapshot, error)
	// Events sends every event in order until ctx ends; [Events.Serve]
	// implements it.
	Events(ctx context.Context, send func(plugins.Event) error) error
}

// Describer is optional: it names the vendor and driver version in the
// capabilities.
type Describer interface {
	Describe() (vendor, version string)
}

// Limiter is optional: after Start, a driver that learns from its PBX that
// some services it implements are not available there withdraws them.
// Services returns the services to declare; the SDK keeps only those the
// driver also implements.
type Limiter interface {
	Services() []plugins.Service
}

// Closer is optional: Close is called when the host shuts the driver down.
type Closer interface {
	Close() error
}

// Options tune [ServeWith]. The zero value is what [Serve] uses.
type Options struct {
	// Logger receives go-plugin's own log lines; nil writes warnings and
	// errors to stderr, which the host relays to its log.
	Logger hclog.Logger
	// ParentCheck is how often the driver checks that the host that
	// started it is alive (default 250ms). A negative value turns the
	// check off.
	ParentCheck time.Duration
}

// Serve runs d as a driver process: it answers the host over go-plugin
// gRPC with mutual TLS and returns when the host shuts it down. The process
// exits by itself when the host dies. Serve refuses to run (and exits 1)
// when the binary is started by hand rather than by a host.
func Serve(d Driver) { ServeWith(d, Options{}) }

// ServeWith is [Serve] with options.
func ServeWith(d Driver, o Options) {
	if o.Logger == nil {
		o.Logger = hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: os.Stderr, JSONFormat: true})
	}
	if o.ParentCheck == 0 {
		o.ParentCheck = 250 * time.Millisecond
	}
	if o.ParentCheck > 0 {
		stop := watchParent(o.ParentCheck, func() {
			o.Logger.Error("host process is gone; driver exits")
			os.Exit(3)
		})
		defer stop()
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: plugins.Handshake,
		Plugins:         plugins.ServerPluginMap(Adapt(d)),
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger:          o.Logger,
	})
	if c, ok := d.(Closer); ok {
		if err := c.Close(); err != nil {
			o.Logger.Warn("driver close", "error", err)
		}
	}
}

// watchParent calls gone when the process that started this one exits
// (the process is re-parented). go-plugin leaves an orphaned plugin running,
// so the SDK does this itself. It returns a func that stops the watch.
func watchParent(every time.Duration, gone func()) (stop func()) {
	ppid := os.Getppid()
	done := make(chan struct{})
	if ppid <= 1 {
		return func() {}
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if os.Getppid() != ppid {
					gone()
					return
				}
			}
		}
	}()
	return func() { close(done) }
}

func notSupported(svc plugins.Service, driver string) error {
	if driver == "" {
		return fmt.Errorf("%s: %w by this driver", svc, plugins.ErrNotSupported)
	}
	return fmt.Errorf("%s: %w by driver %s", svc, plugins.ErrNotSupported, driver)
}
