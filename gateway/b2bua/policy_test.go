package b2bua

import (
	"errors"
	"testing"

	"github.com/switchboard-gw/switchboard/gateway/callpolicy"
)

// TestPolicyOutcome: a refusal of the admission policy reaches the caller
// as 403 with the rule in the reason phrase, or 503 with Retry-After in
// whole seconds; the CDR cause is "policy".
func TestPolicyOutcome(t *testing.T) {
	p, err := callpolicy.New(callpolicy.Options{Region: "CH",
		Classes: []callpolicy.Class{{Name: callpolicy.ClassDefault, Allow: []callpolicy.Category{callpolicy.National}, MaxCalls: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	u := callpolicy.Party{Kind: callpolicy.User, Name: "u1000"}
	_, err = p.Admit(callpolicy.Call{Party: u, Number: "0044207946000", ToTrunk: "pbx"})
	if o := classify(err); o.Status != 403 || o.Reason != "Forbidden (international calls not allowed)" || o.Cause != CausePolicy || o.RetryAfter != "" {
		t.Errorf("class refusal: %+v", o)
	}
	if _, err := p.Admit(callpolicy.Call{Party: u, Number: "0441234567", ToTrunk: "pbx"}); err != nil {
		t.Fatal(err)
	}
	_, err = p.Admit(callpolicy.Call{Party: u, Number: "0441234567", ToTrunk: "pbx"})
	if o := classify(err); o.Status != 503 || o.RetryAfter != "5" || o.Cause != CausePolicy {
		t.Errorf("call cap: %+v", o)
	}
	if o := classify(errors.New("other")); o.Status != 500 {
		t.Errorf("other errors: %+v", o)
	}
}
