package accounts

import (
	"regexp"
	"slices"
	"time"
	"unicode"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

// Account is an account as the API shows it: never its password hash.
type Account struct {
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name"`
	Role        Role      `json:"role"`
	Groups      []string  `json:"groups"`
	Device      string    `json:"device"`
	Disabled    bool      `json:"disabled"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func accountView(a store.Account) Account {
	g := a.Groups
	if g == nil {
		g = []string{}
	}
	return Account{Name: a.Name, DisplayName: a.DisplayName, Role: Role(a.Role), Groups: g, Device: a.Device,
		Disabled: a.Disabled, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

// NewAccount is what an account is created with.
type NewAccount struct {
	Name        string
	DisplayName string
	Role        Role
	Groups      []string
	Device      string
	Password    string
}

// Patch changes some fields of an account; nil fields stay.
type Patch struct {
	DisplayName *string
	Role        *Role
	Groups      *[]string
	Device      *string
	Disabled    *bool
}

var (
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$`)
	deviceRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}:[^\s:][^\s]{0,127}$`)
)

// Limits of account fields.
const (
	maxGroups      = 32
	maxDisplayName = 128
)

// ValidName reports whether s is a valid account or group name: 1 to 64
// letters, digits and . _ @ + -, starting with a letter or digit.
func ValidName(s string) bool { return nameRE.MatchString(s) }

func checkDisplayName(s string) error {
	if len(s) > maxDisplayName {
		return invalid("display_name longer than %d bytes", maxDisplayName)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return invalid("display_name has control characters or invalid UTF-8")
		}
	}
	return nil
}

// checkDevice validates a northbound device id, "<source>:<id>".
func checkDevice(s string) error {
	if s != "" && !deviceRE.MatchString(s) {
		return invalid("device %q is not <source>:<id> (as gateway:u1000 or mitel1:1001)", s)
	}
	return nil
}

// normGroups checks, sorts and de-duplicates group names.
func normGroups(gs []string) ([]string, error) {
	if len(gs) > maxGroups {
		return nil, invalid("more than %d groups", maxGroups)
	}
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		if !ValidName(g) {
			return nil, invalid("group %q: 1 to 64 letters, digits and . _ @ + -", g)
		}
		out = append(out, g)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func checkPassword(pw string) error {
	if len(pw) < MinPasswordLen || len(pw) > MaxPasswordLen {
		return invalid("%v", ErrWeakPassword)
	}
	return nil
}
