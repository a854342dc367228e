package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

func TestNewUser(t *testing.T) {
	// Vectors from Python hashlib, independent of this code.
	u := store.NewUser("u1000", "example.com", "secret", "User", "1000")
	if u.HA1MD5 != "904d9e247cd9bca323def03e3c71648d" {
		t.Errorf("HA1MD5 = %s", u.HA1MD5)
	}
	if u.HA1SHA256 != "16af70c5c3471d14df8786bcaca30f3e0a391c993a5d6973863446ad5ca74140" {
		t.Errorf("HA1SHA256 = %s", u.HA1SHA256)
	}
	if u.Username != "u1000" || u.Realm != "example.com" || u.DisplayName != "User" || u.Extension != "1000" {
		t.Errorf("NewUser = %+v", u)
	}
}

func TestBindingKey(t *testing.T) {
	tests := []struct {
		name string
		b    store.Binding
		want string
	}{
		{"contact", store.Binding{ContactURI: "sip:a@192.0.2.1"}, "c:sip:a@192.0.2.1"},
		{"instance and reg-id", store.Binding{ContactURI: "sip:a@192.0.2.1", InstanceID: "<urn:uuid:1>", RegID: 2}, "i:<urn:uuid:1>;reg-id=2"},
		{"instance only", store.Binding{ContactURI: "sip:a@192.0.2.1", InstanceID: "<urn:uuid:1>"}, "i:<urn:uuid:1>"},
		{"reg-id without instance", store.Binding{ContactURI: "sip:a@192.0.2.1", RegID: 1}, "c:sip:a@192.0.2.1"},
	}
	for _, tc := range tests {
		if got := tc.b.Key(); got != tc.want {
			t.Errorf("%s: Key() = %q, want %q", tc.name, got, tc.want)
		}
	}
	// The same instance from a new address is the same binding.
	a := store.Binding{ContactURI: "sip:a@192.0.2.1", InstanceID: "<urn:uuid:1>", RegID: 1}
	b := store.Binding{ContactURI: "sip:a@203.0.113.9:4000", InstanceID: "<urn:uuid:1>", RegID: 1}
	if a.Key() != b.Key() {
		t.Error("instance keys depend on the contact URI")
	}
}

func TestBindingChangeValidate(t *testing.T) {
	ok := store.Binding{AOR: "a@example.com", ContactURI: "sip:a@192.0.2.1"}
	tests := []struct {
		name    string
		c       store.BindingChange
		wantErr bool
	}{
		{"put", store.PutBinding(ok), false},
		{"delete", store.DeleteBinding("a@example.com", ok.Key()), false},
		{"neither", store.BindingChange{}, true},
		{"both", store.BindingChange{Put: &ok, Delete: &store.BindingKey{AOR: "a", Key: "k"}}, true},
		{"no aor", store.PutBinding(store.Binding{ContactURI: "sip:a@192.0.2.1"}), true},
		{"no contact", store.PutBinding(store.Binding{AOR: "a@example.com"}), true},
		{"instance without contact", store.PutBinding(store.Binding{AOR: "a@example.com", InstanceID: "<urn:uuid:1>"}), true},
		{"delete no key", store.DeleteBinding("a@example.com", ""), true},
	}
	for _, tc := range tests {
		err := tc.c.Validate()
		if tc.wantErr != (err != nil) || (err != nil && !errors.Is(err, store.ErrInvalid)) {
			t.Errorf("%s: Validate() = %v, want error %v (ErrInvalid)", tc.name, err, tc.wantErr)
		}
	}
}

func TestBanActive(t *testing.T) {
	now := time.Now()
	tests := []struct {
		until time.Time
		want  bool
	}{
		{time.Time{}, true},
		{now.Add(time.Second), true},
		{now, false},
		{now.Add(-time.Second), false},
	}
	for _, tc := range tests {
		if got := (store.Ban{IP: "192.0.2.1", Until: tc.until}).Active(now); got != tc.want {
			t.Errorf("Ban{Until: %v}.Active(now) = %v, want %v", tc.until, got, tc.want)
		}
	}
}
