package b2bua

import (
	"net/url"
	"testing"
)

func TestParseReferTo(t *testing.T) {
	tests := []struct {
		v       string
		user    string
		rep     *replaces
		wantErr bool
	}{
		{v: "<sip:3000@example.com>", user: "3000"},
		{v: "sip:3000@example.com", user: "3000"},
		{v: "<sip:3000@example.com?Replaces=abc%40host%3Bto-tag%3D12%3Bfrom-tag%3D34>", user: "3000",
			rep: &replaces{callID: "abc@host", toTag: "12", fromTag: "34"}},
		{v: "<tel:+493012345;phone-context=example.com>", user: "+493012345"},
		{v: "tel:", wantErr: true},
		{v: "<sip:example.com>", wantErr: true},
		{v: "<sip:3000@example.com?Replaces=abc%3Bto-tag%3D12>", wantErr: true},
	}
	for _, tt := range tests {
		u, rep, err := parseReferTo(tt.v)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: error %v, want error %v", tt.v, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if u.User != tt.user {
			t.Errorf("%q: user %q, want %q", tt.v, u.User, tt.user)
		}
		if (rep == nil) != (tt.rep == nil) || rep != nil && *rep != *tt.rep {
			t.Errorf("%q: replaces %+v, want %+v", tt.v, rep, tt.rep)
		}
	}
}

func TestParseReplaces(t *testing.T) {
	r, err := parseReplaces("98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff;early-only")
	if err != nil {
		t.Fatal(err)
	}
	want := replaces{callID: "98732@sip.example.com", toTag: "ff87ff", fromTag: "r33th4x0r", earlyOnly: true}
	if r != want {
		t.Errorf("got %+v, want %+v", r, want)
	}
}

// FuzzParseReferTo: whatever Refer-To it is given, parseReferTo accepts
// only a target with a user part and a Replaces with its three parts
// (RFC 3891 §6.1); and a Refer-To built from a user and a dialog
// (RFC 3891 §5: Replaces escaped as a URI header) parses back to exactly
// them, while one without a tag is rejected.
func FuzzParseReferTo(f *testing.F) {
	f.Add("<sip:3000@example.com?Replaces=abc%40host%3Bto-tag%3D12%3Bfrom-tag%3D34>", "3000", "abc@host", "12", "34")
	f.Add("sip:3000@example.com", "+4930123", "x", "y", "z")
	f.Add("<tel:+493012345;phone-context=example.com>", "u1000", "a.b-c_d", "t", "f")
	f.Add("<sip:x@h?Replaces=a%3Bto-tag%3D%3Bfrom-tag%3D1>", "1", "2", "3", "4")
	f.Fuzz(func(t *testing.T, v, user, callID, toTag, fromTag string) {
		u, rep, err := parseReferTo(v)
		if err == nil {
			if u.User == "" {
				t.Fatalf("%q: accepted without a user part", v)
			}
			if rep != nil && (rep.callID == "" || rep.toTag == "" || rep.fromTag == "") {
				t.Fatalf("%q: accepted Replaces %+v without call-id, to-tag or from-tag", v, rep)
			}
		}

		if !isToken(user) || !isToken(callID) || !isToken(toTag) || !isToken(fromTag) {
			return
		}
		dlg := callID + ";to-tag=" + toTag + ";from-tag=" + fromTag
		ref := "<sip:" + user + "@example.com?Replaces=" + url.QueryEscape(dlg) + ">"
		u, rep, err = parseReferTo(ref)
		if err != nil {
			t.Fatalf("%q: %v", ref, err)
		}
		want := replaces{callID: callID, toTag: toTag, fromTag: fromTag}
		if u.User != user || rep == nil || *rep != want {
			t.Fatalf("%q: user %q replaces %+v, want %q %+v", ref, u.User, rep, user, want)
		}
		noTag := "<sip:" + user + "@example.com?Replaces=" + url.QueryEscape(callID+";from-tag="+fromTag) + ">"
		if _, _, err := parseReferTo(noTag); err == nil {
			t.Fatalf("%q: Replaces without to-tag accepted", noTag)
		}
	})
}

// isToken reports whether s is a non-empty run of characters that need
// no quoting in a SIP URI user part, Call-ID and tag alike.
func isToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
		default:
			return false
		}
	}
	return true
}
