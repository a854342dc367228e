package registrar

import (
	"errors"
	"testing"
	"time"
)

// TestSetExpiriesLive: new intervals apply to the next REGISTER, without
// a new registrar (a configuration reload).
func TestSetExpiriesLive(t *testing.T) {
	f := newFixture(t)
	if res := f.register("u1000", "secret", "call-1", "Contact: <sip:u1000@192.0.2.10>;expires=100"); res.StatusCode != 200 {
		t.Fatalf("before: %s", res.StartLine())
	}
	if err := f.reg.SetExpiries(Expiries{Min: 300 * time.Second}); err != nil {
		t.Fatal(err)
	}
	res := f.register("u1000", "secret", "call-2", "Contact: <sip:u1000@192.0.2.10>;expires=100")
	if res.StatusCode != 423 || res.GetHeader("Min-Expires").Value() != "300" {
		t.Fatalf("after raising min_expires: %s, Min-Expires %v", res.StartLine(), res.GetHeader("Min-Expires"))
	}
	if err := f.reg.SetExpiries(Expiries{Min: 10 * time.Second, Max: 5 * time.Second}); !errors.Is(err, ErrBadExpiries) {
		t.Fatalf("min > max: %v", err)
	}
	if got := f.reg.Expiries(); got.Min != 300*time.Second {
		t.Fatalf("a refused update changed the intervals: %+v", got)
	}
}
