// Package store defines what the gateway keeps on disk — users, registrar
// bindings, bans and small settings — as one narrow interface, Store, with the
// types it speaks. Implementations live in sub-packages (sqlite today,
// PostgreSQL later) and are held to the same behaviour by the conformance
// suite in storetest.
//
// The package also has Writer, which batches binding changes from many
// goroutines into few transactions (group commit), so the registrar can wait
// for durability before it answers 200 OK without paying one commit per
// REGISTER.
package store

import (
	"context"
	"crypto/md5" //nolint:gosec // RFC 7616 digest MD5 is what phones speak.
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
)

// User is a SIP account. Plain passwords are never stored: only the digest
// HA1 values, computed for one realm.
type User struct {
	Username    string
	DisplayName string
	Extension   string
	// Realm is the realm the HA1 values were computed for. A digest
	// challenge for another realm cannot be answered with them.
	Realm string
	// HA1MD5 and HA1SHA256 are lowercase hex of H(username:realm:password)
	// with H = MD5 and SHA-256 (RFC 7616 §3.4.2).
	HA1MD5    string
	HA1SHA256 string
	// CreatedAt and UpdatedAt are set by the store: CreatedAt on first
	// insert (kept by later upserts), UpdatedAt on every write. Stores keep
	// at least microsecond precision and return UTC.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// NewUser returns a User with both HA1 values computed from password for
// realm. The password itself is not kept.
func NewUser(username, realm, password, displayName, extension string) User {
	return User{
		Username:    username,
		DisplayName: displayName,
		Extension:   extension,
		Realm:       realm,
		HA1MD5:      HA1MD5(username, realm, password),
		HA1SHA256:   HA1SHA256(username, realm, password),
	}
}

// HA1MD5 returns lowercase hex MD5(username ":" realm ":" password), the
// digest HA1 for algorithm MD5 (RFC 7616 §3.4.2, RFC 2617 §3.2.2.2).
func HA1MD5(username, realm, password string) string {
	sum := md5.Sum([]byte(username + ":" + realm + ":" + password)) //nolint:gosec // see import.
	return hex.EncodeToString(sum[:])
}

// HA1SHA256 returns lowercase hex SHA-256(username ":" realm ":" password),
// the digest HA1 for algorithm SHA-256 (RFC 7616 §3.4.2).
func HA1SHA256(username, realm, password string) string {
	sum := sha256.Sum256([]byte(username + ":" + realm + ":" + password))
	return hex.EncodeToString(sum[:])
}

// QAbsent is the Binding.Q value for a contact registered without a q
// parameter.
const QAbsent float32 = -1

// Binding is one registered contact of an address-of-record (RFC 3261 §10).
type Binding struct {
	AOR        string    // "user@domain"
	ContactURI string    // the Contact URI as registered
	Params     string    // other contact params as written (+sip.instance, reg-id, expires removed), for the 200 OK
	Q          float32   // 0..1 as given; QAbsent (-1) when the contact had no q
	Expires    time.Time // absolute expiry
	CallID     string
	CSeq       uint32
	InstanceID string    // RFC 5626 +sip.instance, "" if none
	RegID      int       // RFC 5626 reg-id, 0 if none
	Path       []string  // RFC 3327 Path header values, in order; nil if none
	Source     string    // "ip:port" the REGISTER came from (received/rport, RFC 3581)
	Transport  string    // udp|tcp|tls|ws|wss
	LocalAddr  string    // listener "ip:port" that received it (the flow)
	UserAgent  string    // User-Agent header of the REGISTER
	UpdatedAt  time.Time // set to the time of the write when zero
}

// Key identifies a binding inside its AOR. With an RFC 5626 instance ID it is
// built from the instance and reg-id ("i:<urn:uuid:...>;reg-id=1", or only
// the instance when reg-id is 0), as RFC 5626 §6 matches bindings by
// instance-id instead of Contact URI: a phone that re-registers from a new
// address replaces its old binding. Without one it is built from the Contact
// URI as given ("c:sip:..."; RFC 3261 §10.3 step 6): the registrar should
// canonicalise URIs before they get here if it wants URI equality rather than
// string equality. The prefixes keep the two forms from colliding.
func (b Binding) Key() string {
	if b.InstanceID != "" {
		if b.RegID != 0 {
			return "i:" + b.InstanceID + ";reg-id=" + strconv.Itoa(b.RegID)
		}
		return "i:" + b.InstanceID
	}
	return "c:" + b.ContactURI
}

// BindingKey names one binding for deletion: the AOR and the binding's Key.
type BindingKey struct{ AOR, Key string }

// BindingChange is one write of ApplyBindings: exactly one of Put (insert or
// replace the binding with the same AOR and Key) and Delete (remove it; a
// missing binding is not an error) is set.
type BindingChange struct {
	Put    *Binding
	Delete *BindingKey
}

// PutBinding returns a change that stores b.
func PutBinding(b Binding) BindingChange { return BindingChange{Put: &b} }

// DeleteBinding returns a change that removes the binding aor/key.
func DeleteBinding(aor, key string) BindingChange {
	return BindingChange{Delete: &BindingKey{AOR: aor, Key: key}}
}

// Validate reports, wrapping ErrInvalid, whether c is malformed: both or
// neither side set, an empty AOR, contact URI or key.
func (c BindingChange) Validate() error {
	switch {
	case c.Put != nil && c.Delete != nil:
		return fmt.Errorf("binding change: both put and delete set: %w", ErrInvalid)
	case c.Put != nil:
		if c.Put.AOR == "" {
			return fmt.Errorf("binding change: empty aor: %w", ErrInvalid)
		}
		if c.Put.ContactURI == "" {
			return fmt.Errorf("binding change for %q: empty contact uri: %w", c.Put.AOR, ErrInvalid)
		}
	case c.Delete != nil:
		if c.Delete.AOR == "" || c.Delete.Key == "" {
			return fmt.Errorf("binding change: delete with empty aor or key: %w", ErrInvalid)
		}
	default:
		return fmt.Errorf("binding change: neither put nor delete set: %w", ErrInvalid)
	}
	return nil
}

// Ban keeps a source address out, usually after repeated auth failures.
type Ban struct {
	IP     string
	Reason string
	// Until is when the ban ends; the zero time means it never does.
	Until time.Time
	// CreatedAt is set to the time of the write when zero.
	CreatedAt time.Time
}

// Active reports whether the ban is in force at now.
func (b Ban) Active(now time.Time) bool { return b.Until.IsZero() || b.Until.After(now) }

// Store is the gateway's persistent state. Every method takes a context and
// is safe for concurrent use. Errors wrap ErrNotFound, ErrExists and
// ErrInvalid where the docs say so.
type Store interface {
	AccountStore // accounts.go: HTTPS logins, sessions, API tokens
	// Contacts is the directory's contacts table (contacts.go).
	Contacts
	// Operators keeps operator states and user presence (operators.go).
	Operators

	// PutUsers inserts or replaces users in one transaction: all or
	// nothing. A user's CreatedAt survives replacement.
	PutUsers(ctx context.Context, users []User) error
	// AddUsers inserts users in one transaction. If any already exists
	// (or appears twice in users) nothing is stored and the error wraps
	// ErrExists and names the user.
	AddUsers(ctx context.Context, users []User) error
	// User returns one user, or an error wrapping ErrNotFound.
	User(ctx context.Context, username string) (User, error)
	// Users returns every user, sorted by username (byte order).
	Users(ctx context.Context) ([]User, error)
	// DeleteUser removes a user, or returns an error wrapping ErrNotFound.
	// Bindings are keyed by AOR, not user, and are left alone.
	DeleteUser(ctx context.Context, username string) error

	// ApplyBindings applies changes in order in one transaction. An
	// invalid change (see BindingChange.Validate) fails the whole call.
	ApplyBindings(ctx context.Context, changes []BindingChange) error
	// Bindings returns every stored binding, expired or not, sorted by
	// AOR then Key; the registrar loads them at start.
	Bindings(ctx context.Context) ([]Binding, error)
	// DeleteExpiredBindings removes bindings whose Expires is not after
	// now and returns how many it removed.
	DeleteExpiredBindings(ctx context.Context, now time.Time) (int, error)

	// PutBan inserts or replaces the ban for b.IP.
	PutBan(ctx context.Context, b Ban) error
	// DeleteBan lifts a ban, or returns an error wrapping ErrNotFound.
	DeleteBan(ctx context.Context, ip string) error
	// Bans returns the bans active at now (see Ban.Active), sorted by IP.
	Bans(ctx context.Context, now time.Time) ([]Ban, error)

	// Setting returns a small named value (e.g. the nonce secret), or an
	// error wrapping ErrNotFound.
	Setting(ctx context.Context, key string) (string, error)
	// PutSetting inserts or replaces a setting.
	PutSetting(ctx context.Context, key, value string) error

	// AddRecords stores call detail records in one transaction. A record
	// whose ID is already stored is left as it is (adding is idempotent,
	// so a batch may be retried). An empty ID fails the whole call with
	// an error wrapping ErrInvalid.
	AddRecords(ctx context.Context, records []cdr.Record) error
	// CallHistory returns the records q selects, newest first (by Setup,
	// then ID descending), at most q.Limit of them.
	CallHistory(ctx context.Context, q CallQuery) ([]cdr.Record, error)
	// DeleteRecordsBefore removes the records whose Setup is before t and
	// returns how many it removed (retention, seed 004).
	DeleteRecordsBefore(ctx context.Context, t time.Time) (int, error)

	// Close releases the store. It is safe to call more than once; other
	// calls after Close fail.
	Close() error
}
