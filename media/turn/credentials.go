package turn

import (
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // RFC 8489 §9.2.2: the long-term key is MD5(username:realm:password)
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TURN REST API credentials (draft-uberti-behave-turn-rest-00 §2.2, the
// scheme of coturn's use-auth-secret): the username is "expiry:user", with
// expiry in Unix seconds, and the password is
// base64(HMAC-SHA1(secret, username)). Anyone holding the shared secret (the
// gateway's web phone endpoint) mints them; the TURN server needs no store.

// maxUsernameLen bounds the USERNAME a client may send (RFC 8489 §14.3:
// less than 509 bytes).
const maxUsernameLen = 508

// RESTCredentials returns the username and password for user, valid until
// expiry, under secret.
func RESTCredentials(secret, user string, expiry time.Time) (username, password string) {
	username = strconv.FormatInt(expiry.Unix(), 10) + ":" + user
	return username, RESTPassword(secret, username)
}

// RESTPassword is base64(HMAC-SHA1(secret, username)).
func RESTPassword(secret, username string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// ParseRESTUsername splits a REST username "expiry:user" into its expiry
// and user. coturn also accepts a bare timestamp (user ""): so does this.
// The user part may itself contain ':' (only the first one separates).
func ParseRESTUsername(username string) (expiry time.Time, user string, err error) {
	if username == "" || len(username) > maxUsernameLen {
		return time.Time{}, "", ErrBadUsername
	}
	ts, user, _ := strings.Cut(username, ":")
	if ts == "" || len(ts) > 19 {
		return time.Time{}, "", ErrBadUsername
	}
	for _, c := range ts {
		if c < '0' || c > '9' {
			return time.Time{}, "", ErrBadUsername
		}
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("%w: %w", ErrBadUsername, err)
	}
	return time.Unix(n, 0), user, nil
}

// longTermKey is the RFC 8489 §9.2.2 key: MD5(username ":" realm ":" password).
func longTermKey(username, realm, password string) []byte {
	h := md5.New() //nolint:gosec // the RFC's key derivation
	h.Write([]byte(username + ":" + realm + ":" + password))
	return h.Sum(nil)
}
