package dnssrv

import "testing"

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in   string
		want SIPTarget
		err  bool
	}{
		{in: "sip:pbx.example.com", want: SIPTarget{Host: "pbx.example.com"}},
		{in: "SIP:PBX.Example.COM.;transport=TCP", want: SIPTarget{Host: "pbx.example.com", Transport: "tcp"}},
		{in: "sips:pbx.example.com;transport=tcp", want: SIPTarget{Secure: true, Host: "pbx.example.com", Transport: "tls"}},
		{in: "sips:pbx.example.com;transport=ws", want: SIPTarget{Secure: true, Host: "pbx.example.com", Transport: "wss"}},
		{in: "sip:1000@10.0.0.5:5080;lr", want: SIPTarget{User: "1000", Host: "10.0.0.5", Port: 5080}},
		{in: "sip:[2001:db8::5]:5070", want: SIPTarget{Host: "2001:db8::5", Port: 5070}},
		{in: "pbx.example.com:5060", want: SIPTarget{Host: "pbx.example.com", Port: 5060}},
		{in: "10.0.0.5", want: SIPTarget{Host: "10.0.0.5"}},
		{in: "sip:proxy.example.com;maddr=10.0.0.9", want: SIPTarget{Host: "10.0.0.9"}},
		{in: "sip:pbx.example.com;transport=sctp", err: true},
		{in: "sips:pbx.example.com;transport=udp", err: true},
		{in: "sip:user:pw@pbx.example.com", err: true},
		{in: "sip:pbx.example.com?subject=x", err: true},
		{in: "sip:2001:db8::1", err: true},
		{in: "sip:", err: true},
		{in: "sip:pbx_example.com", err: true},
		{in: "sip:pbx.example.com:99999", err: true},
		{in: "https://pbx.example.com", err: true},
	}
	for _, tt := range tests {
		got, err := ParseTarget(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("ParseTarget(%q) error = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if !tt.err && got != tt.want {
			t.Errorf("ParseTarget(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	// String round-trips.
	for _, s := range []string{"sip:pbx.example.com;transport=tcp", "sips:[2001:db8::5]:5061", "sip:1000@10.0.0.5", "sips:h.example;transport=ws"} {
		t1, err := ParseTarget(s)
		if err != nil {
			t.Fatal(err)
		}
		if t2, _ := ParseTarget(t1.String()); t1.String() != s || t2 != t1 {
			t.Errorf("%q -> %q", s, t1.String())
		}
	}
}
