package csta

import (
	"strconv"
	"strings"
)

// Edition is an ECMA-323 edition; it picks the CSTA namespace messages are
// encoded in. Avaya AE Services speak ed3, Mitel MiVoice Office 400 ed5.
type Edition int

// The ECMA-323 editions found in the field.
const (
	Ed3 Edition = 3
	Ed4 Edition = 4
	Ed5 Edition = 5
	Ed6 Edition = 6
)

// DefaultEdition is the edition used when none is configured.
const DefaultEdition = Ed5

// NamespacePrefix is the ECMA-323 namespace without the edition suffix.
const NamespacePrefix = "http://www.ecma-international.org/standards/ecma-323/csta/"

// SessionNamespace is the ECMA-354 application session namespace. Session
// messages are always encoded in it, whatever the CSTA edition.
const SessionNamespace = "http://www.ecma-international.org/standards/ecma-354/appl_session"

// Namespace returns the edition's namespace, for example
// "http://www.ecma-international.org/standards/ecma-323/csta/ed5".
func (e Edition) Namespace() string {
	return NamespacePrefix + "ed" + strconv.Itoa(int(e))
}

// Valid reports whether e is one of Ed3..Ed6.
func (e Edition) Valid() bool { return e >= Ed3 && e <= Ed6 }

// String returns "ed3".."ed6".
func (e Edition) String() string { return "ed" + strconv.Itoa(int(e)) }

// ParseEdition returns the edition of an ECMA-323 namespace or protocol
// version URI. Vendor suffixes after the edition are accepted, so Avaya's
// ".../csta/ed3/priv6" is Ed3. It reports false for anything else,
// including Avaya AES 3.0's literal "3.0".
func ParseEdition(uri string) (Edition, bool) {
	rest, ok := strings.CutPrefix(uri, NamespacePrefix)
	if !ok || !strings.HasPrefix(rest, "ed") {
		return 0, false
	}
	rest = rest[2:]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	n, err := strconv.Atoi(rest)
	if err != nil || !Edition(n).Valid() {
		return 0, false
	}
	return Edition(n), true
}
