package avaya

import (
	"errors"
	"testing"
)

func startDoc(login string) string {
	return `<StartApplicationSession xmlns="http://www.ecma-international.org/standards/ecma-354/appl_session" ` +
		`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:acx="http://www.avaya.com/csta">` +
		`<applicationInfo><applicationID>t</applicationID><applicationSpecificInfo>` + login +
		`</applicationSpecificInfo></applicationInfo><requestedProtocolVersions><protocolVersion>3.0</protocolVersion>` +
		`</requestedProtocolVersions></StartApplicationSession>`
}

// TestReadLogin: the login is read only in the guide's typed form.
func TestReadLogin(t *testing.T) {
	for _, tc := range []struct {
		name, login string
		ok          bool
	}{
		{"typed, acx", `<acx:SessionLoginInfo xsi:type="acx:SessionLoginInfo"><acx:userName>u</acx:userName><acx:password>p</acx:password></acx:SessionLoginInfo>`, true},
		{"typed, own prefix", `<a:SessionLoginInfo xmlns:a="http://www.avaya.com/csta" xsi:type="a:SessionLoginInfo"><a:userName>u</a:userName><a:password>p</a:password><a:sessionCleanupDelay>5</a:sessionCleanupDelay></a:SessionLoginInfo>`, true},
		{"untyped", `<SessionLoginInfo xmlns="http://www.avaya.com/csta"><userName>u</userName><password>p</password></SessionLoginInfo>`, false},
		{"type prefix bound elsewhere", `<acx:SessionLoginInfo xmlns:z="urn:z" xsi:type="z:SessionLoginInfo"><acx:userName>u</acx:userName></acx:SessionLoginInfo>`, false},
		{"children outside Avaya's namespace", `<acx:SessionLoginInfo xsi:type="acx:SessionLoginInfo"><userName>u</userName><password>p</password></acx:SessionLoginInfo>`, false},
		{"no user", `<acx:SessionLoginInfo xsi:type="acx:SessionLoginInfo"><acx:password>p</acx:password></acx:SessionLoginInfo>`, false},
		{"wrong namespace", `<SessionLoginInfo xmlns="urn:x" xsi:type="acx:SessionLoginInfo"><userName>u</userName></SessionLoginInfo>`, false},
		{"none", ``, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(startDoc(tc.login)))
			if (err == nil) != tc.ok {
				t.Fatalf("ok %v, err %v", tc.ok, err)
			}
			if err != nil && !tc.ok && !errors.Is(err, errLogin) {
				t.Fatalf("refused for another reason: %v", err)
			}
		})
	}
}
