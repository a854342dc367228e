package config

import "strings"

// TrunkRegister makes the gateway register to a trunk with credentials,
// for PBXs that accept calls only from registered trunks (RFC 3261 §10).
// Registration is on when user is set.
type TrunkRegister struct {
	// User is the username of the REGISTER (From and To:
	// sip:user@domain) and of digest authentication. Default: empty
	// (no registration).
	User string `yaml:"user"`

	// Password is the digest password; required with user.
	Password string `yaml:"password"`

	// Domain is the host of the address-of-record and the Request-URI.
	// Default: the host of the trunk's target.
	Domain string `yaml:"domain"`

	// Expires is the registration lifetime asked for, in seconds; it is
	// refreshed before it runs out (RFC 3261 §10.2.4). 60 to 86400.
	// Default: 600.
	Expires int `yaml:"expires"`

	// ContactUser is the user part of our Contact, where the PBX sends
	// calls for this trunk. Default: the value of user.
	ContactUser string `yaml:"contact_user"`
}

// TrunkAuth are the credentials the gateway answers a trunk's digest
// challenge to an INVITE with (401/407, RFC 3261 §22.2).
type TrunkAuth struct {
	// User is the digest username. Default: register.user.
	User string `yaml:"user"`

	// Password is the digest password; required with user.
	// Default: register.password.
	Password string `yaml:"password"`
}

// Credentials are the user and password for the trunk's INVITE
// challenges: auth, else the register credentials; "" when none.
func (t Trunk) Credentials() (user, password string) {
	if t.Auth.User != "" {
		return t.Auth.User, t.Auth.Password
	}
	return t.Register.User, t.Register.Password
}

func (d *decoder) validateTrunkAuth(p string, a TrunkAuth) {
	p += ".auth"
	if a.User == "" {
		if a.Password != "" {
			d.errorf(p+".user", "is required with password")
		}
		return
	}
	if !printable(a.User) || strings.ContainsAny(a.User, " @:") {
		d.errorf(p+".user", "%q must not contain spaces, @, : or control characters", a.User)
	}
	if a.Password == "" {
		d.errorf(p+".password", "is required with user")
	} else if !printable(a.Password) {
		d.errorf(p+".password", "must not contain control characters")
	}
}

// Enabled reports whether the trunk registers.
func (r TrunkRegister) Enabled() bool { return r.User != "" }

func (d *decoder) validateTrunkRegister(p string, r TrunkRegister) {
	p += ".register"
	if !r.Enabled() {
		if r.Password != "" || r.Domain != "" || r.ContactUser != "" {
			d.errorf(p+".user", "is required when register has other keys")
		}
		return
	}
	if !printable(r.User) || strings.ContainsAny(r.User, " @:") {
		d.errorf(p+".user", "%q must not contain spaces, @, : or control characters", r.User)
	}
	if r.Password == "" {
		d.errorf(p+".password", "is required with user")
	} else if !printable(r.Password) {
		d.errorf(p+".password", "must not contain control characters")
	}
	if r.Domain != "" && !validHost(r.Domain) {
		d.errorf(p+".domain", "%q is not a valid host name or IP address", r.Domain)
	}
	if r.Expires < 60 || r.Expires > 86400 {
		d.errorf(p+".expires", "%d is out of range: must be from 60 to 86400", r.Expires)
	}
	if r.ContactUser != "" && (!printable(r.ContactUser) || strings.ContainsAny(r.ContactUser, " @:;")) {
		d.errorf(p+".contact_user", "%q must not contain spaces, @, :, ; or control characters", r.ContactUser)
	}
}
