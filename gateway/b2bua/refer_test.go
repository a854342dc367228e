package b2bua

import "testing"

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

func FuzzParseReferTo(f *testing.F) {
	f.Add("<sip:3000@example.com?Replaces=abc%40host%3Bto-tag%3D12%3Bfrom-tag%3D34>")
	f.Add("sip:3000@example.com")
	f.Fuzz(func(t *testing.T, v string) {
		_, _, _ = parseReferTo(v)
	})
}
