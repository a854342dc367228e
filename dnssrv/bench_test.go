package dnssrv

import (
	"context"
	"testing"
)

// BenchmarkResolveCached is the cost of resolution on call setup once the
// cache is warm: NAPTR, three SRV sets and their A/AAAA, re-ordered by
// weight on every call.
func BenchmarkResolveCached(b *testing.B) {
	z := newZone(b, pbx...)
	r := newTestResolver(b, Options{}, z.Addr)
	ctx := context.Background()
	for _, uri := range []string{"sip:naptr.test", "sip:srv.test;transport=udp", "sip:plain.test:5060"} {
		b.Run(uri, func(b *testing.B) {
			if _, err := r.Resolve(ctx, uri); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := r.Resolve(ctx, uri); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkResolveCachedParallel is the same from many goroutines.
func BenchmarkResolveCachedParallel(b *testing.B) {
	z := newZone(b, pbx...)
	r := newTestResolver(b, Options{}, z.Addr)
	ctx := context.Background()
	if _, err := r.Resolve(ctx, "sip:naptr.test"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Resolve(ctx, "sip:naptr.test"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
