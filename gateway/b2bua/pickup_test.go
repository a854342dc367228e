package b2bua

import (
	"errors"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// TestMayPickUp: who may pick up a call ringing at u1001 that u1000
// placed from 127.0.0.1 (pickup.go), with call_policy.pickup on and off.
func TestMayPickUp(t *testing.T) {
	tests := []struct {
		name   string
		user   string
		source string
		pickup bool
		ok     bool
	}{
		{"caller's other device", "u1000", "127.0.0.5:5060", false, true},
		{"from the caller's address", "", "127.0.0.1:5070", false, true},
		{"called user's other device", "u1001", "127.0.0.6:5060", false, true},
		{"another user, pickup on", "u1002", "127.0.0.7:5060", true, true},
		{"another user, pickup off", "u1002", "127.0.0.7:5060", false, false},
		{"unauthenticated stranger, pickup on", "", "127.0.0.9:5060", true, false},
		{"another user, call ringing on a trunk", "u1002", "127.0.0.7:5060", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestB2BUA(Options{Pickup: tt.pickup})
			a := &dialog{callID: "a", localTag: "1", user: "u1000"}
			a.addPeer("127.0.0.1:5060")
			c := &call{gw: b, a: a}
			req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "1001", Host: "example.com"})
			req.SetSource(tt.source)
			callee := "u1001"
			if tt.name == "another user, call ringing on a trunk" {
				callee = ""
			}
			err := b.mayPickUp(pickable{c: c, remoteTag: "x", callee: callee}, tt.user, req)
			if (err == nil) != tt.ok {
				t.Fatalf("mayPickUp(%q from %s) = %v, want allowed %v", tt.user, tt.source, err, tt.ok)
			}
			if err != nil && !errors.Is(err, errPickupRefused) {
				t.Errorf("refusal %v is not errPickupRefused", err)
			}
		})
	}
}

// TestLookupPickable: a branch's early dialog is found by a Replaces with
// the tags from either end's point of view, and only while its call rings.
func TestLookupPickable(t *testing.T) {
	b := newTestB2BUA(Options{})
	c := &call{gw: b}
	br := &branch{user: "u1001", d: &dialog{callID: "cid", localTag: "ours", remoteTag: "dev"}}
	b.notePickable(c, br) // not ringing yet: ignored
	if _, _, ok := b.lookupPickable(replaces{callID: "cid", toTag: "ours", fromTag: "dev"}); ok {
		t.Fatal("pickable before openPickup")
	}
	ch := b.openPickup(c)
	b.notePickable(c, br)
	for _, r := range []replaces{{callID: "cid", toTag: "ours", fromTag: "dev"}, {callID: "cid", toTag: "dev", fromTag: "ours"}} {
		p, got, ok := b.lookupPickable(r)
		if !ok || got != ch || p.callee != "u1001" {
			t.Errorf("lookupPickable(%+v) = %+v, %v", r, p, ok)
		}
	}
	if _, _, ok := b.lookupPickable(replaces{callID: "cid", toTag: "ours", fromTag: "other"}); ok {
		t.Error("found with a wrong remote tag")
	}
	b.closePickup(c)
	if _, _, ok := b.lookupPickable(replaces{callID: "cid", toTag: "ours", fromTag: "dev"}); ok {
		t.Error("pickable after closePickup")
	}
}
