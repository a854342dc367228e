package digest

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Algorithm names as they appear in the algorithm parameter (RFC 7616 §3.3,
// §6.1). The -sess variants are not supported.
const (
	MD5        = "MD5"
	SHA256     = "SHA-256"
	SHA512_256 = "SHA-512-256"
)

// Defaults applied by New.
const (
	DefaultNonceTTL  = 5 * time.Minute
	DefaultMaxNonces = 1 << 20
	minSecretLen     = 32
	// maxClockSkew is how far in the future a nonce's timestamp may lie,
	// for gateway nodes sharing a secret whose clocks differ slightly.
	maxClockSkew = 30 * time.Second
)

// Options configures an Authenticator. Zero fields take the defaults given.
type Options struct {
	// Realm is sent in every challenge and must be echoed unchanged by the
	// client (RFC 3261 §22.1). Required; no control characters.
	Realm string

	// Secret is the HMAC-SHA256 key signing the nonces; at least 32 bytes.
	// The caller persists it so nonces survive a restart, and shares it
	// between nodes that must accept each other's nonces.
	Secret []byte

	// NonceTTL is how long a nonce stays fresh. Default 5m.
	NonceTTL time.Duration

	// Algorithms are offered in this order, one challenge each (RFC 8760
	// §2.4). Default {"SHA-256", "MD5"}. Known: MD5, SHA-256, SHA-512-256.
	Algorithms []string

	// AllowNoQOP accepts credentials without qop (RFC 2069 style), as some
	// old desk phones send them. Default false: they are refused with
	// ErrAlgorithm, since without qop there is no nonce count and so no
	// replay protection (RFC 7616 §3.4, §5.12).
	AllowNoQOP bool

	// AnyURI lets the caller accept credentials whose uri is not the
	// Request-URI (see URIChecked). Default false: the uri must name the
	// Request-URI (RFC 3261 §22.4, RFC 2617 §3.2.2.5). For clients that
	// compute it from something else (SIPp without -auth_uri uses the
	// server's address); the nonce count still stops replays.
	AnyURI bool

	// MaxNonces bounds the number of nonces whose nonce-count window is
	// remembered. When full, the oldest are forgotten and treated as stale,
	// never as fresh. Default 1<<20 (some 50–100 MB when full).
	MaxNonces int

	// Now returns the current time. Default time.Now; tests inject a clock.
	Now func() time.Time

	// Rand supplies the random part of nonces. Default crypto/rand.Reader.
	// It must be safe for concurrent use if Challenges is called
	// concurrently. Should it fail, crypto/rand is used instead.
	Rand io.Reader
}

// algo identifies a supported hash.
type algo uint8

const (
	algMD5 algo = iota + 1
	algSHA256
	algSHA512_256
)

func (al algo) String() string {
	switch al {
	case algMD5:
		return MD5
	case algSHA256:
		return SHA256
	case algSHA512_256:
		return SHA512_256
	}
	return "unknown"
}

// hexLen is the length of a hex digest (HA1, HA2, response).
func (al algo) hexLen() int {
	if al == algMD5 {
		return 2 * md5.Size
	}
	return 2 * sha256.Size
}

// sumHex hashes data and appends the lowercase hex digest to dst.
func (al algo) sumHex(dst, data []byte) []byte {
	var sum [sha256.Size]byte
	n := 0
	switch al {
	case algMD5:
		s := md5.Sum(data)
		n = copy(sum[:], s[:])
	case algSHA256:
		sum = sha256.Sum256(data)
		n = sha256.Size
	case algSHA512_256:
		sum = sha512.Sum512_256(data)
		n = sha512.Size256
	}
	return hex.AppendEncode(dst, sum[:n])
}

// parseAlgo maps an algorithm parameter to an algo. An empty value means MD5
// (RFC 7616 §3.3: "If this is not present, it is assumed to be MD5").
func parseAlgo(s string) (algo, bool) {
	switch {
	case s == "" || strings.EqualFold(s, MD5):
		return algMD5, true
	case strings.EqualFold(s, SHA256):
		return algSHA256, true
	case strings.EqualFold(s, SHA512_256):
		return algSHA512_256, true
	}
	return 0, false
}

// Nonce layout (before base64url, RFC 4648 §5, no padding):
//
//	timestamp  8 bytes  big-endian Unix nanoseconds of issue
//	random    12 bytes
//	tag        8 bytes  HMAC-SHA256(nonceKey, timestamp ‖ random)[:8]
//	bound      8 bytes  HMAC-SHA256(nonceKey, timestamp ‖ random ‖ 0xff ‖ client)[:8]
//
// nonceKey is derived from Secret and Realm, so a nonce issued for one realm
// is worthless in another even under the same secret. tag proves that we
// issued the nonce; bound, that we issued it to this client address (IPv4,
// or the IPv6 /64; see bindAddr). A failure on a nonce bound to the
// request's source is evidence that the source received our challenge, so
// it cannot have spoofed its address (sipauth counts only such failures
// towards a ban). 64-bit tags: forging one takes 2^63 online guesses.
const (
	nonceTSLen   = 8
	nonceRandLen = 12
	nonceMACLen  = 8
	nonceTagLen  = 2 * nonceMACLen
	nonceRawLen  = nonceTSLen + nonceRandLen + nonceTagLen
	nonceLen     = nonceRawLen / 3 * 4 // 48, no padding needed
)

var nonceEncoding = base64.RawURLEncoding

// Authenticator issues challenges and verifies credentials for one realm.
// It is safe for concurrent use. It starts no goroutine and needs no Close.
type Authenticator struct {
	realm      string
	ttl        int64 // nanoseconds
	offered    []algo
	allowNoQOP bool
	anyURI     bool
	now        func() time.Time
	rand       io.Reader
	opaque     string
	// dummyHA1 stands in for an unknown user's HA1 so that Verify does the
	// same work as for a wrong password.
	dummyHA1 [algSHA512_256 + 1]string
	// hashed, when set (tests), is told of every hash computed while
	// checking a response, so tests can assert equal work.
	hashed func(algo)
	// challengeTail holds, per offered algorithm, everything after the
	// nonce in a challenge.
	challengeHead string
	challengeTail []string

	pool    sync.Pool // *scratch
	replays replayTable
}

// scratch is per-call working memory, pooled so that Verify does not
// allocate.
type scratch struct {
	mac hash.Hash
	buf []byte
	ha2 []byte
	exp []byte
	got []byte
	raw [nonceRawLen]byte
	tag [sha256.Size]byte
}

func (a *Authenticator) getScratch() *scratch { return a.pool.Get().(*scratch) }

// putScratch returns s to the pool unless a huge header grew its buffers.
func (a *Authenticator) putScratch(s *scratch) {
	const maxKeep = 4 << 10
	if cap(s.buf) > maxKeep || cap(s.got) > maxKeep {
		return
	}
	a.pool.Put(s)
}

// New validates o, applies defaults and returns an Authenticator.
func New(o Options) (*Authenticator, error) {
	if o.Realm == "" {
		return nil, errors.New("digest: realm is empty")
	}
	for i := 0; i < len(o.Realm); i++ {
		if c := o.Realm[i]; c < 0x20 || c == 0x7f {
			return nil, errors.New("digest: realm contains a control character")
		}
	}
	if len(o.Secret) < minSecretLen {
		return nil, fmt.Errorf("digest: secret is %d bytes, need at least %d", len(o.Secret), minSecretLen)
	}
	if o.NonceTTL < 0 {
		return nil, fmt.Errorf("digest: negative nonce ttl %v", o.NonceTTL)
	}
	if o.NonceTTL == 0 {
		o.NonceTTL = DefaultNonceTTL
	}
	if o.MaxNonces < 0 {
		return nil, fmt.Errorf("digest: negative max nonces %d", o.MaxNonces)
	}
	if o.MaxNonces == 0 {
		o.MaxNonces = DefaultMaxNonces
	}
	if len(o.Algorithms) == 0 {
		o.Algorithms = []string{SHA256, MD5}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	a := &Authenticator{
		realm:      o.Realm,
		ttl:        int64(o.NonceTTL),
		allowNoQOP: o.AllowNoQOP,
		anyURI:     o.AnyURI,
		now:        o.Now,
		rand:       o.Rand,
	}
	for _, name := range o.Algorithms {
		al, ok := parseAlgo(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("digest: unsupported algorithm %q", name)
		}
		for _, prev := range a.offered {
			if prev == al {
				return nil, fmt.Errorf("digest: algorithm %q listed twice", name)
			}
		}
		a.offered = append(a.offered, al)
	}

	nonceKey := deriveKey(o.Secret, "nonce", o.Realm)
	a.pool.New = func() any {
		return &scratch{mac: hmac.New(sha256.New, nonceKey), buf: make([]byte, 0, 256)}
	}
	// The opaque is constant per secret and realm (RFC 7616 §3.3): it only
	// has to come back unchanged.
	a.opaque = nonceEncoding.EncodeToString(deriveKey(o.Secret, "opaque", o.Realm)[:12])
	for _, al := range []algo{algMD5, algSHA256, algSHA512_256} {
		a.dummyHA1[al] = string(al.sumHex(nil, deriveKey(o.Secret, "dummy", o.Realm)))
	}

	// RFC 7616 §3.3: realm, nonce, opaque, algorithm, qop; RFC 3261 §22.4.
	a.challengeHead = `Digest realm="` + quote(o.Realm) + `", nonce="`
	for _, al := range a.offered {
		a.challengeTail = append(a.challengeTail,
			`", opaque="`+a.opaque+`", algorithm=`+al.String()+`, qop="auth"`)
	}
	a.replays.init(o.MaxNonces, a.ttl)
	return a, nil
}

// deriveKey returns HMAC-SHA256(secret, label ‖ 0 ‖ realm), separating the
// uses of the one secret.
func deriveKey(secret []byte, label, realm string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("switchboard digest v1 " + label))
	m.Write([]byte{0})
	m.Write([]byte(realm))
	return m.Sum(nil)
}

// quote escapes a value for a quoted-string (RFC 3261 §25.1 quoted-pair).
func quote(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Realm returns the realm this Authenticator challenges for.
func (a *Authenticator) Realm() string { return a.realm }

// URIChecked reports whether the credentials' uri must name the
// Request-URI (Options.AnyURI unset). Verify does not compare them itself;
// its callers do when this is true.
func (a *Authenticator) URIChecked() bool { return !a.anyURI }

// Challenges is ChallengesFor with no client address: the nonce is bound to
// no address, and only VerifyFrom with the zero netip.Addr (or Verify)
// accepts it. For clients of the gateway use ChallengesFor.
func (a *Authenticator) Challenges(stale bool) []string {
	return a.ChallengesFor(stale, netip.Addr{})
}

// ChallengesFor returns one WWW-Authenticate (or Proxy-Authenticate) header
// value per offered algorithm, in order of preference (RFC 8760 §2.4, RFC
// 7616 §3.7), all carrying the same fresh nonce, the opaque and qop="auth".
// The nonce is bound to client, the source address of the request being
// challenged (see VerifyFrom). With stale set each also carries stale=true
// (RFC 7616 §3.3): the client retries with the new nonce without asking its
// user again.
func (a *Authenticator) ChallengesFor(stale bool, client netip.Addr) []string {
	nonce := a.newNonce(client)
	out := make([]string, len(a.challengeTail))
	for i, tail := range a.challengeTail {
		v := a.challengeHead + nonce + tail
		if stale {
			v += ", stale=true"
		}
		out[i] = v
	}
	return out
}

// newNonce issues a signed nonce stamped with the current time and bound to
// client.
func (a *Authenticator) newNonce(client netip.Addr) string {
	s := a.getScratch()
	defer a.putScratch(s)
	binary.BigEndian.PutUint64(s.raw[:nonceTSLen], uint64(a.now().UnixNano()))
	rnd := s.raw[nonceTSLen : nonceTSLen+nonceRandLen]
	if _, err := io.ReadFull(a.rand, rnd); err != nil {
		rand.Read(rnd) // never fails (crypto/rand, Go 1.24+)
	}
	const body = nonceTSLen + nonceRandLen
	copy(s.raw[body:], a.mac(s, client, false))
	copy(s.raw[body+nonceMACLen:], a.mac(s, client, true))
	return nonceEncoding.EncodeToString(s.raw[:])
}

// mac returns the first nonceMACLen bytes of the HMAC over the timestamp
// and random part in s.raw, with the client's bound address when bound.
func (a *Authenticator) mac(s *scratch, client netip.Addr, bound bool) []byte {
	s.mac.Reset()
	s.mac.Write(s.raw[:nonceTSLen+nonceRandLen])
	if bound {
		b := append(s.buf[:0], 0xff)
		b = append(b, bindAddr(client).AsSlice()...)
		s.mac.Write(b)
	}
	return s.mac.Sum(s.tag[:0])[:nonceMACLen]
}

// bindAddr is the part of a client address a nonce is bound to: the IPv4
// address, or the /64 of an IPv6 address (privacy addresses change within
// it; sipguard counts and bans IPv6 sources by /64 too).
func bindAddr(ip netip.Addr) netip.Addr {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// nonceCheck is what checkNonce found.
type nonceCheck uint8

const (
	nonceForged  nonceCheck = iota // not issued by us (or garbled)
	nonceForeign                   // issued by us to another client address
	nonceBound                     // issued by us to this client
)

// checkNonce decodes nonce into s.raw and checks its tags with hmac.Equal.
// It returns the issue time in Unix nanoseconds.
func (a *Authenticator) checkNonce(s *scratch, nonce string, client netip.Addr) (int64, nonceCheck) {
	if len(nonce) != nonceLen {
		return 0, nonceForged
	}
	s.buf = append(s.buf[:0], nonce...)
	if n, err := nonceEncoding.Decode(s.raw[:], s.buf); err != nil || n != nonceRawLen {
		return 0, nonceForged
	}
	const body = nonceTSLen + nonceRandLen
	// Both MACs are always computed: the work does not depend on which
	// check fails.
	issuedOK := hmac.Equal(a.mac(s, client, false), s.raw[body:body+nonceMACLen])
	boundOK := hmac.Equal(a.mac(s, client, true), s.raw[body+nonceMACLen:])
	issued := int64(binary.BigEndian.Uint64(s.raw[:nonceTSLen]))
	switch {
	case !issuedOK:
		return 0, nonceForged
	case !boundOK:
		return issued, nonceForeign
	}
	return issued, nonceBound
}

// HA1 returns H(username ":" realm ":" password) in lowercase hex for the
// named algorithm (RFC 7616 §3.4.2), as a store keeps it per user and
// algorithm.
func HA1(algorithm, username, realm, password string) (string, error) {
	al, ok := parseAlgo(algorithm)
	if !ok || algorithm == "" {
		return "", fmt.Errorf("%w: %q", ErrAlgorithm, algorithm)
	}
	return string(al.sumHex(nil, []byte(username+":"+realm+":"+password))), nil
}
