package plugins

import (
	"context"
	"time"

	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The health check asks "is the driver hung?", not "is it idle?". A driver
// busy with thousands of calls at once (a 5,000-device restore or resync
// on a loaded machine: each MonitorStart several PBX round trips) answers
// a Capabilities probe late, behind its own work on the same gRPC
// connection and the same two cores; ctibench saw the Cisco driver killed
// for three late probes in a row while it was answering MonitorStarts
// (load average 25, -health-timeout 1s), and restarting it restarted the
// restore. So a probe that fails while the driver showed a sign of life
// since the probe before (2×HealthInterval+HealthTimeout: any call
// answered, any event streamed) does not count; a frozen or deadlocked driver answers
// nothing and is still restarted after HealthFailures probes
// (TestHungDriverRestarted, TestBusyDriverNotRestarted).

// answered is the gRPC client interceptor that records, in alive, when
// the driver last answered a call: successfully or with its own error, not
// with the transport's (deadline, cancel, unavailable).
func answered(alive *atomic.Int64) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		switch status.Code(err) {
		case codes.DeadlineExceeded, codes.Canceled, codes.Unavailable:
		default:
			alive.Store(time.Now().UnixNano())
		}
		return err
	}
}

// busy reports whether inc's driver showed a sign of life within window.
func busy(inc *incarnation, window time.Duration) bool {
	return inc.alive != nil && time.Since(time.Unix(0, inc.alive.Load())) < window
}
