package store

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Contact is an entry of the directory's contacts table (issue 14, seed
// 004): someone outside the gateway and the PBX an operator calls.
type Contact struct {
	// ID is set by the store when the contact is added.
	ID      int64
	Name    string
	Numbers []string
	Company string
	Email   string
	Notes   string
	// CreatedAt and UpdatedAt are set by the store.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Limits of a contact's fields.
const (
	MaxContactName    = 128
	MaxContactCompany = 128
	MaxContactEmail   = 254
	MaxContactNotes   = 1024
	MaxContactNumbers = 10
	MaxContactLimit   = 10000
)

var numberRE = regexp.MustCompile(`^\+?[0-9*#]{1,32}$`)

// NormalizeNumber removes the spaces, dots, dashes, slashes and
// parentheses people write in phone numbers ("+41 (44) 123-45 67" is
// +41441234567) and reports whether what is left is a dialable number: an
// optional + and 1 to 32 of 0-9 * #.
func NormalizeNumber(s string) (string, bool) {
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune(" .-/()\u00a0", r) {
			return -1
		}
		return r
	}, s)
	return s, numberRE.MatchString(s)
}

// Normalize trims c's fields, normalises its numbers and checks it; the
// error wraps ErrInvalid and names the field.
func (c Contact) Normalize() (Contact, error) {
	c.Name = strings.TrimSpace(c.Name)
	c.Company = strings.TrimSpace(c.Company)
	c.Email = strings.TrimSpace(c.Email)
	c.Notes = strings.TrimSpace(c.Notes)
	bad := func(format string, args ...any) (Contact, error) {
		return c, fmt.Errorf("contact: "+format+": %w", append(args, ErrInvalid)...)
	}
	for _, f := range []struct {
		name, v string
		max     int
		lines   bool
	}{{"name", c.Name, MaxContactName, false}, {"company", c.Company, MaxContactCompany, false},
		{"email", c.Email, MaxContactEmail, false}, {"notes", c.Notes, MaxContactNotes, true}} {
		if len(f.v) > f.max {
			return bad("%s longer than %d bytes", f.name, f.max)
		}
		if !utf8.ValidString(f.v) || strings.IndexFunc(f.v, func(r rune) bool {
			return unicode.IsControl(r) && !(f.lines && (r == '\n' || r == '\t'))
		}) >= 0 {
			return bad("%s has control characters or invalid UTF-8", f.name)
		}
	}
	if c.Name == "" {
		return bad("empty name")
	}
	if c.Email != "" && (!strings.Contains(c.Email, "@") || strings.ContainsAny(c.Email, " \t<>")) {
		return bad("email %q is not an address", c.Email)
	}
	if len(c.Numbers) == 0 {
		return bad("no number")
	}
	if len(c.Numbers) > MaxContactNumbers {
		return bad("more than %d numbers", MaxContactNumbers)
	}
	nums := make([]string, 0, len(c.Numbers))
	for _, n := range c.Numbers {
		v, ok := NormalizeNumber(n)
		if !ok {
			if len(n) > 40 {
				n = n[:40] + "…"
			}
			return bad("number %q: want digits, * and # with an optional leading +", strings.ToValidUTF8(n, "?"))
		}
		nums = append(nums, v)
	}
	c.Numbers = nums
	return c, nil
}

// ContactQuery selects contacts.
type ContactQuery struct {
	// Text, when set, selects contacts whose name, company, email or a
	// number contains it, ignoring case (ASCII); for numbers it is
	// normalised as NormalizeNumber does.
	Text string
	// Limit is the most returned, 1 to MaxContactLimit.
	Limit int
}

// Contacts is the store of the directory's contacts. Store embeds it.
type Contacts interface {
	// AddContacts stores new contacts in one transaction (all or
	// nothing) and returns them with their IDs. Each must pass
	// Normalize (else ErrInvalid).
	AddContacts(ctx context.Context, cs []Contact) ([]Contact, error)
	// Contact returns one contact, or an error wrapping ErrNotFound.
	Contact(ctx context.Context, id int64) (Contact, error)
	// UpdateContact replaces the contact c.ID (ErrNotFound if it does
	// not exist) and returns it as stored.
	UpdateContact(ctx context.Context, c Contact) (Contact, error)
	// DeleteContact removes a contact, or returns an error wrapping
	// ErrNotFound.
	DeleteContact(ctx context.Context, id int64) error
	// SearchContacts returns the contacts q selects, by name (then ID).
	SearchContacts(ctx context.Context, q ContactQuery) ([]Contact, error)
}
