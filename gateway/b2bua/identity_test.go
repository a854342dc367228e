package b2bua

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/dnssrv"
)

// TestApplyIdentity: what a trunk sees of the caller per trunk setting
// (RFC 3325 §9, RFC 3323).
func TestApplyIdentity(t *testing.T) {
	profiles := map[string]UserProfile{"u1000": {DisplayName: "Alice", Extension: "1000"}, "u1001": {}}
	gw := &B2BUA{o: Options{Domain: "example.com", Profile: func(u string) (UserProfile, bool) {
		p, ok := profiles[u]
		return p, ok
	}}}
	tests := []struct {
		name     string
		from     caller
		s        TrunkSettings
		wantFrom string // display|user@host
		wantPAI  string
		wantPriv string
	}{
		{"username by default", caller{user: "u1000"}, TrunkSettings{}, "Alice|u1000@pbx.example", "", ""},
		{"extension", caller{user: "u1000"}, TrunkSettings{FromUser: FromExtension}, "Alice|1000@pbx.example", "", ""},
		{"no extension: username", caller{user: "u1001", display: "Phone Says"}, TrunkSettings{FromUser: FromExtension}, "Phone Says|u1001@pbx.example", "", ""},
		{"no display name", caller{user: "u1000"}, TrunkSettings{NoDisplayName: true}, "|u1000@pbx.example", "", ""},
		{"asserted", caller{user: "u1000"}, TrunkSettings{FromUser: FromExtension, AssertIdentity: true},
			"Alice|1000@pbx.example", `"Alice" <sip:1000@pbx.example>`, ""},
		{"privacy id asked", caller{user: "u1000", privacy: "id"}, TrunkSettings{AssertIdentity: true},
			"Anonymous|anonymous@anonymous.invalid", `"Alice" <sip:u1000@pbx.example>`, "id"},
		{"privacy junk dropped", caller{user: "u1000", privacy: "bogus;user"}, TrunkSettings{},
			"Anonymous|anonymous@anonymous.invalid", "", "user"},
		{"privacy none ignores the phone", caller{user: "u1000", privacy: "id"}, TrunkSettings{Privacy: PrivacyNone},
			"Alice|u1000@pbx.example", "", ""},
		{"privacy id always", caller{user: "u1000"}, TrunkSettings{Privacy: PrivacyID}, "Alice|u1000@pbx.example", "", "id"},
		{"privacy user with an asserted identity adds id", caller{user: "u1000", privacy: "user"}, TrunkSettings{AssertIdentity: true},
			"Anonymous|anonymous@anonymous.invalid", `"Alice" <sip:u1000@pbx.example>`, "user;id"},
		{"inbound keeps the PBX's name", caller{number: "0441234567", display: "Reception"}, TrunkSettings{},
			"Reception|0441234567@pbx.example", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &call{gw: gw, from: tt.from}
			req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "2000", Host: "pbx.example"})
			req.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", Host: "example.com"}, Params: sip.NewParams()})
			c.applyIdentity(req, tt.s, "pbx.example")
			f := req.From()
			if got := f.DisplayName + "|" + f.Address.User + "@" + f.Address.Host; got != tt.wantFrom {
				t.Errorf("From %q, want %q", got, tt.wantFrom)
			}
			var pai, priv string
			if h := req.GetHeader("P-Asserted-Identity"); h != nil {
				pai = h.Value()
			}
			if h := req.GetHeader("Privacy"); h != nil {
				priv = h.Value()
			}
			if pai != tt.wantPAI || priv != tt.wantPriv {
				t.Errorf("P-Asserted-Identity %q Privacy %q, want %q %q", pai, priv, tt.wantPAI, tt.wantPriv)
			}
		})
	}
}

// TestFollowRedirect: the best Contact first (q), never a number twice,
// at most follow_redirects times.
func TestFollowRedirect(t *testing.T) {
	raw := "SIP/2.0 302 Moved\nVia: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1\nFrom: <sip:a@x>;tag=1\nTo: <sip:b@x>;tag=2\nCall-ID: c\nCSeq: 1 INVITE\n" +
		"Contact: <sip:2001@10.0.0.5>;q=0.1\nContact: <sip:2002@10.0.0.5>;q=0.9\nContact: <sip:2000@10.0.0.5>\nContent-Length: 0\n\n"
	err := rejected(parseRes(t, raw))
	gw := &B2BUA{o: Options{TrunkSettings: map[string]TrunkSettings{"": {FollowRedirects: 2}}}}
	c := &call{gw: gw, num: "2000"}
	tgt := target{trunk: &dnssrv.Trunk{}}
	var got []string
	for range 4 {
		n, ok := c.followRedirect(tgt, err)
		if !ok {
			break
		}
		got = append(got, n)
	}
	if strings.Join(got, ",") != "2002,2001" {
		t.Errorf("followed %v, want 2002 then 2001 (2000 is the number dialled)", got)
	}
}
