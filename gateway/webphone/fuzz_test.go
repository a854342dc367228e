package webphone

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// acceptable is the rule for credentials, written apart from
// checkCredentials: a non-empty UTF-8 username of at most 128 bytes
// without control characters or colons, a non-empty UTF-8 password of at
// most 256 bytes.
func acceptable(user, pass string) bool {
	if user == "" || pass == "" || len(user) > 128 || len(pass) > 256 || !utf8.ValidString(user) || !utf8.ValidString(pass) {
		return false
	}
	for _, r := range user {
		if r < 0x20 || r == 0x7f || r == ':' {
			return false
		}
	}
	return true
}

// FuzzParseBasic: a Basic header built from (user, pass) reads back as
// exactly them when they are acceptable and is refused as malformed when
// not; any header that reads ok re-encodes to one that reads the same.
func FuzzParseBasic(f *testing.F) {
	f.Add("u1002", "secret", "")
	f.Add("u1002", "pa:ss", "Basic dTEwMDI6c2VjcmV0")
	f.Add("", "x", "Basic Og==")
	f.Add("u:x", "y", "basic   dTp4Onk=  ")
	f.Add("ü", "\x00", "Basic !!!")
	f.Fuzz(func(t *testing.T, user, pass, raw string) {
		h := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
		u, p, isBasic, err := parseBasic(h)
		if !isBasic {
			t.Fatalf("%q not seen as Basic", h)
		}
		switch {
		case acceptable(user, pass) && (err != nil || u != user || p != pass):
			t.Fatalf("(%q, %q): read (%q, %q, %v)", user, pass, u, p, err)
		case !acceptable(user, pass) && !strings.Contains(user, ":") && !errors.Is(err, ErrMalformed):
			t.Fatalf("(%q, %q) accepted as (%q, %q)", user, pass, u, p)
		}
		u, p, isBasic, err = parseBasic(raw)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("%q: error %v not ErrMalformed", raw, err)
		}
		if err == nil && isBasic {
			if !acceptable(u, p) {
				t.Fatalf("%q read as unacceptable (%q, %q)", raw, u, p)
			}
			u2, p2, _, err2 := parseBasic("Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)))
			if err2 != nil || u2 != u || p2 != p {
				t.Fatalf("%q: (%q, %q) re-read as (%q, %q, %v)", raw, u, p, u2, p2, err2)
			}
		}
	})
}

// FuzzParseLogin: a JSON body of (user, pass) reads back as exactly them
// when acceptable, else is malformed; any body that reads ok is at most
// maxLoginBody bytes, whatever follows the object, and gives acceptable
// credentials.
func FuzzParseLogin(f *testing.F) {
	f.Add("u1002", "secret", []byte(`{"username":"u1002","password":"secret"}`))
	f.Add("a", "b", []byte(`{"username":"a","password":"b","x":1}`))
	f.Add("a\u2028", "\"\\", []byte(`{"username":"a"}{"password":"b"}`))
	f.Add("", "", []byte(`[1,2,3]`))
	f.Add("a", "b", []byte(`{"username":"a","password":"b"}`+strings.Repeat(" ", 5000)+"x"))
	f.Fuzz(func(t *testing.T, user, pass string, raw []byte) {
		body, err := json.Marshal(loginRequest{Username: user, Password: pass})
		if err != nil {
			t.Skip()
		}
		req, err := parseLogin(strings.NewReader(string(body)))
		// json.Marshal turns invalid UTF-8 into U+FFFD: compare with what
		// was actually sent.
		var sent loginRequest
		_ = json.Unmarshal(body, &sent)
		ok := acceptable(sent.Username, sent.Password) && len(body) <= maxLoginBody
		switch {
		case ok && (err != nil || req != sent):
			t.Fatalf("%s: read %+v, %v", body, req, err)
		case !ok && !errors.Is(err, ErrMalformed):
			t.Fatalf("%s accepted as %+v", body, req)
		}
		req, err = parseLogin(strings.NewReader(string(raw)))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("%q: error %v not ErrMalformed", raw, err)
			}
			return
		}
		if len(raw) > maxLoginBody || !acceptable(req.Username, req.Password) {
			t.Fatalf("%q read as %+v", raw, req)
		}
	})
}
