package digest

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCredentials(t *testing.T) {
	const base = `username="alice", realm="sip.example.com", nonce="n", uri="sip:sip.example.com", response="r"`
	tests := []struct {
		name string
		in   string
		want Credentials // compared when err is nil
		err  string      // substring of the error; "" for success
	}{
		{name: "minimal", in: "Digest " + base,
			want: Credentials{Username: "alice", Realm: "sip.example.com", Nonce: "n", URI: "sip:sip.example.com", Response: "r"}},
		{name: "full, tokens, mixed case", in: `dIgEsT  UserName="alice",REALM="sip.example.com" , Nonce="n",uri="sip:x;transport=tcp",response="r",Algorithm=SHA-256,cnonce="c",QOP=auth,nc=0000000A,opaque="o"`,
			want: Credentials{Username: "alice", Realm: "sip.example.com", Nonce: "n", URI: "sip:x;transport=tcp", Response: "r",
				Algorithm: "SHA-256", CNonce: "c", QOP: "auth", NC: "0000000A", NonceCount: 10, Opaque: "o"}},
		{name: "quoted qop and algorithm", in: "Digest " + base + `, qop="auth", algorithm="MD5", nc=00000001, cnonce="c"`,
			want: Credentials{Username: "alice", Realm: "sip.example.com", Nonce: "n", URI: "sip:sip.example.com", Response: "r",
				Algorithm: "MD5", QOP: "auth", NC: "00000001", NonceCount: 1, CNonce: "c"}},
		{name: "escapes and commas in quotes", in: `Digest username="a\"l,i\\ce", realm="r, with \"comma\"", nonce="n", uri="sip:a,b", response="r"`,
			want: Credentials{Username: `a"l,i\ce`, Realm: `r, with "comma"`, Nonce: "n", URI: "sip:a,b", Response: "r"}},
		{name: "folded whitespace and empty elements", in: "Digest\t,username=\"alice\" ,\r\n realm = \"sip.example.com\",, nonce=\"n\",uri=\"u\",response=\"r\",",
			want: Credentials{Username: "alice", Realm: "sip.example.com", Nonce: "n", URI: "u", Response: "r"}},
		{name: "unknown params ignored", in: "Digest " + base + `, foo=bar, x-y="a,b", foo="twice"`,
			want: Credentials{Username: "alice", Realm: "sip.example.com", Nonce: "n", URI: "sip:sip.example.com", Response: "r"}},
		{name: "username*", in: `Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm="r", nonce="n", uri="u", response="r", userhash=false`,
			want: Credentials{Username: "Jäsøn Doe", Realm: "r", Nonce: "n", URI: "u", Response: "r"}},
		{name: "userhash", in: "Digest " + base + ", userhash=TRUE",
			want: Credentials{Username: "alice", Realm: "sip.example.com", Nonce: "n", URI: "sip:sip.example.com", Response: "r", UserHash: true}},
		{name: "empty realm kept", in: `Digest username="a", realm="", nonce="n", uri="u", response="r"`,
			want: Credentials{Username: "a", Nonce: "n", URI: "u", Response: "r"}},

		{name: "empty", in: "", err: "scheme"},
		{name: "basic", in: "Basic YWxhZGRpbjpvcGVuc2VzYW1l", err: "scheme"},
		{name: "scheme only", in: "Digest", err: "scheme"},
		{name: "scheme glued", in: "Digestusername=\"a\"", err: "scheme"},
		{name: "no username", in: `Digest realm="r", nonce="n", uri="u", response="r"`, err: "missing username"},
		{name: "no realm", in: `Digest username="a", nonce="n", uri="u", response="r"`, err: "missing realm"},
		{name: "no nonce", in: `Digest username="a", realm="r", uri="u", response="r"`, err: "missing nonce"},
		{name: "no uri", in: `Digest username="a", realm="r", nonce="n", response="r"`, err: "missing uri"},
		{name: "no response", in: `Digest username="a", realm="r", nonce="n", uri="u"`, err: "missing response"},
		{name: "duplicate", in: "Digest " + base + `, Realm="evil"`, err: "twice"},
		{name: "username and username*", in: "Digest " + base + `, username*=UTF-8''bob`, err: "both"},
		{name: "bad username*", in: `Digest username*=latin1''x, realm="r", nonce="n", uri="u", response="r"`, err: "ext-value"},
		{name: "bad percent", in: `Digest username*=UTF-8''x%4, realm="r", nonce="n", uri="u", response="r"`, err: "percent"},
		{name: "unterminated", in: `Digest username="alice`, err: "unterminated"},
		{name: "unterminated escape", in: `Digest username="alice\`, err: "bad escape"},
		{name: "crlf in quotes", in: "Digest username=\"a\r\nb\"", err: "control"},
		{name: "nul in quotes", in: "Digest username=\"a\x00b\"", err: "control"},
		{name: "missing comma", in: `Digest username="a" realm="r"`, err: "comma"},
		{name: "no value", in: `Digest username`, err: "no value"},
		{name: "empty token", in: `Digest username=, realm="r"`, err: "empty value"},
		{name: "bad name", in: `Digest ="a"`, err: "bad character"},
		{name: "qop without nc", in: "Digest " + base + `, qop=auth, cnonce="c"`, err: "qop without"},
		{name: "nc without qop", in: "Digest " + base + `, nc=00000001`, err: "without qop"},
		{name: "short nc", in: "Digest " + base + `, qop=auth, cnonce="c", nc=1`, err: "8 hex"},
		{name: "zero nc", in: "Digest " + base + `, qop=auth, cnonce="c", nc=00000000`, err: "8 hex"},
		{name: "hex nc", in: "Digest " + base + `, qop=auth, cnonce="c", nc=0000000g`, err: "8 hex"},
		{name: "bad userhash", in: "Digest " + base + `, userhash=maybe`, err: "userhash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCredentials(tt.in)
			if tt.err != "" {
				if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want ErrMalformed with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestParseNoAllocs: the common header without escapes is sliced, not
// copied.
func TestParseNoAllocs(t *testing.T) {
	n := testing.AllocsPerRun(100, func() {
		if _, err := ParseCredentials(benchHeader); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("%v allocs per ParseCredentials", n)
	}
}

const benchHeader = `Digest username="alice", realm="sip.example.com", nonce="GMespIwNgAAAAQIDBAUGBwgJCgsY5fUGavdRZ5DngYLox7YL", ` +
	`uri="sip:sip.example.com", response="6629fae49393a05397450978507c4ef1", algorithm=MD5, cnonce="0a4f113b", ` +
	`qop=auth, nc=00000001, opaque="ycxm9ZztvMSKZZZd"`
