package accounts

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

func storeErr(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, store.ErrExists):
		return fmt.Errorf("%w: %w", ErrExists, err)
	}
	return err
}

// Get returns one account.
func (s *Service) Get(ctx context.Context, name string) (Account, error) {
	a, err := s.st.Account(ctx, name)
	if err != nil {
		return Account{}, storeErr(err)
	}
	return accountView(a), nil
}

// List returns every account, sorted by name.
func (s *Service) List(ctx context.Context) ([]Account, error) {
	as, err := s.st.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Account, 0, len(as))
	for _, a := range as {
		out = append(out, accountView(a))
	}
	return out, nil
}

// Create adds an account.
func (s *Service) Create(ctx context.Context, n NewAccount) (Account, error) {
	if !ValidName(n.Name) {
		return Account{}, invalid("name %q: 1 to 64 letters, digits and . _ @ + -, starting with a letter or digit", n.Name)
	}
	if !n.Role.Valid() {
		return Account{}, invalid("role %q: operator, supervisor or admin", n.Role)
	}
	if err := checkDisplayName(n.DisplayName); err != nil {
		return Account{}, err
	}
	if err := checkDevice(n.Device); err != nil {
		return Account{}, err
	}
	groups, err := normGroups(n.Groups)
	if err != nil {
		return Account{}, err
	}
	if err := checkPassword(n.Password); err != nil {
		return Account{}, err
	}
	h, err := s.hash(ctx, n.Password)
	if err != nil {
		return Account{}, err
	}
	a := store.Account{Name: n.Name, DisplayName: n.DisplayName, Role: string(n.Role), Groups: groups,
		Device: n.Device, PasswordHash: h}
	if err := s.st.AddAccount(ctx, a); err != nil {
		return Account{}, storeErr(err)
	}
	return s.Get(ctx, n.Name)
}

// enabledAdmins counts enabled admin accounts other than except.
func (s *Service) enabledAdmins(ctx context.Context, except string) (int, error) {
	as, err := s.st.Accounts(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range as {
		if a.Name != except && !a.Disabled && a.Role == string(RoleAdmin) {
			n++
		}
	}
	return n, nil
}

// Update changes an account. Disabling it revokes its sessions; the last
// enabled admin cannot be disabled or demoted.
func (s *Service) Update(ctx context.Context, name string, p Patch) (Account, error) {
	a, err := s.st.Account(ctx, name)
	if err != nil {
		return Account{}, storeErr(err)
	}
	wasAdmin := a.Role == string(RoleAdmin) && !a.Disabled
	if p.DisplayName != nil {
		if err := checkDisplayName(*p.DisplayName); err != nil {
			return Account{}, err
		}
		a.DisplayName = *p.DisplayName
	}
	if p.Role != nil {
		if !p.Role.Valid() {
			return Account{}, invalid("role %q: operator, supervisor or admin", *p.Role)
		}
		a.Role = string(*p.Role)
	}
	if p.Groups != nil {
		if a.Groups, err = normGroups(*p.Groups); err != nil {
			return Account{}, err
		}
	}
	if p.Device != nil {
		if err := checkDevice(*p.Device); err != nil {
			return Account{}, err
		}
		a.Device = *p.Device
	}
	disabling := p.Disabled != nil && *p.Disabled && !a.Disabled
	if p.Disabled != nil {
		a.Disabled = *p.Disabled
	}
	if wasAdmin && (a.Disabled || a.Role != string(RoleAdmin)) {
		if n, err := s.enabledAdmins(ctx, name); err != nil {
			return Account{}, err
		} else if n == 0 {
			return Account{}, ErrLastAdmin
		}
	}
	if err := s.st.UpdateAccount(ctx, a); err != nil {
		return Account{}, storeErr(err)
	}
	if disabling {
		if _, err := s.st.DeleteAccountSessions(ctx, name); err != nil {
			return Account{}, err
		}
	}
	return s.Get(ctx, name)
}

// Delete removes an account with its sessions and tokens; not the last
// enabled admin.
func (s *Service) Delete(ctx context.Context, name string) error {
	a, err := s.st.Account(ctx, name)
	if err != nil {
		return storeErr(err)
	}
	if a.Role == string(RoleAdmin) && !a.Disabled {
		if n, err := s.enabledAdmins(ctx, name); err != nil {
			return err
		} else if n == 0 {
			return ErrLastAdmin
		}
	}
	return storeErr(s.st.DeleteAccount(ctx, name))
}

// SetPassword gives an account a new password and revokes its sessions.
// Changing the first-run admin's password removes data_dir/admin.password.
func (s *Service) SetPassword(ctx context.Context, name, pw string) error {
	if err := checkPassword(pw); err != nil {
		return err
	}
	a, err := s.st.Account(ctx, name)
	if err != nil {
		return storeErr(err)
	}
	if a.PasswordHash, err = s.hash(ctx, pw); err != nil {
		return err
	}
	if err := s.st.UpdateAccount(ctx, a); err != nil {
		return storeErr(err)
	}
	if _, err := s.st.DeleteAccountSessions(ctx, name); err != nil {
		return err
	}
	if name == FirstRunAccount && s.firstRun != "" {
		if err := os.Remove(s.firstRun); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("password changed, but %w", err)
		}
	}
	return nil
}

// ChangeOwnPassword is SetPassword for the caller, who must give the old
// password (rate-limited like a login from source).
func (s *Service) ChangeOwnPassword(ctx context.Context, name, old, pw, source string) error {
	if err := checkPassword(pw); err != nil {
		return err
	}
	if _, err := s.checkLogin(ctx, name, old, source); err != nil {
		return err
	}
	return s.SetPassword(ctx, name, pw)
}
