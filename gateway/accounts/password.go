package accounts

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Password hashing: argon2id (RFC 9106) in the PHC string format
// "$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>" (unpadded
// standard base64), so the parameters travel with each hash and can be
// raised later without breaking stored ones.

// HashParams are argon2id's cost parameters.
type HashParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultHashParams are OWASP's argon2id minimum (19 MiB, 2 passes, 1
// lane): a login costs tens of milliseconds and 19 MiB while it runs,
// which the login rate limit and the hashing semaphore keep bounded.
var DefaultHashParams = HashParams{Memory: 19 * 1024, Time: 2, Threads: 1}

// Limits of what Verify accepts from a stored hash, so that a tampered
// row cannot make one login allocate gigabytes or spin for minutes.
const (
	maxHashMemory = 1 << 20 // KiB (1 GiB)
	maxHashTime   = 64
	saltLen       = 16
	keyLen        = 32
	// MaxPasswordLen is the longest password accepted, in bytes.
	MaxPasswordLen = 1024
	// MinPasswordLen is the shortest password an account may be given.
	MinPasswordLen = 8
)

// Errors of password handling.
var (
	// ErrHashFormat means a stored hash is not an argon2id PHC string
	// this package can read.
	ErrHashFormat = errors.New("malformed password hash")
	// ErrWeakPassword means a new password is too short or too long.
	ErrWeakPassword = errors.New("password must be 8 to 1024 bytes")
)

// Hash returns the PHC string of password under fresh random salt.
func Hash(password string, p HashParams) (string, error) {
	if len(password) > MaxPasswordLen {
		return "", ErrWeakPassword
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// phc is a parsed argon2id hash.
type phc struct {
	params    HashParams
	salt, key []byte
}

// parsePHC reads an argon2id PHC string. Errors wrap ErrHashFormat.
func parsePHC(s string) (phc, error) {
	var out phc
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return out, fmt.Errorf("%w: not $argon2id$...", ErrHashFormat)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return out, fmt.Errorf("%w: version %q", ErrHashFormat, parts[2])
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] {
			return out, fmt.Errorf("%w: parameter %q", ErrHashFormat, kv)
		}
		seen[k] = true
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || (len(v) > 1 && v[0] == '0') {
			return out, fmt.Errorf("%w: parameter %q", ErrHashFormat, kv)
		}
		switch k {
		case "m":
			out.params.Memory = uint32(n)
		case "t":
			out.params.Time = uint32(n)
		case "p":
			if n > 255 {
				return out, fmt.Errorf("%w: parameter %q", ErrHashFormat, kv)
			}
			out.params.Threads = uint8(n)
		default:
			return out, fmt.Errorf("%w: parameter %q", ErrHashFormat, kv)
		}
	}
	p := out.params
	if len(seen) != 3 || p.Time < 1 || p.Time > maxHashTime || p.Threads < 1 ||
		p.Memory < 8*uint32(p.Threads) || p.Memory > maxHashMemory {
		return out, fmt.Errorf("%w: parameters %q out of range", ErrHashFormat, parts[3])
	}
	var err error
	if out.salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil || len(out.salt) < 8 || len(out.salt) > 64 {
		return out, fmt.Errorf("%w: salt", ErrHashFormat)
	}
	if out.key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil || len(out.key) < 16 || len(out.key) > 64 {
		return out, fmt.Errorf("%w: hash", ErrHashFormat)
	}
	return out, nil
}

// Verify reports whether password matches the PHC string hash, in time
// that does not depend on where they differ. A hash it cannot read gives
// an error wrapping ErrHashFormat.
func Verify(password, hash string) (bool, error) {
	h, err := parsePHC(hash)
	if err != nil {
		return false, err
	}
	if len(password) > MaxPasswordLen {
		return false, nil
	}
	key := argon2.IDKey([]byte(password), h.salt, h.params.Time, h.params.Memory, h.params.Threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}
