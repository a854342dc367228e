package config

// CallerID is what a trunk sees of the caller of a call sent to it
// (RFC 3325, RFC 3323).
type CallerID struct {
	// FromUser is the user part of From for a user's calls: username or
	// extension (the user's extension when it has one). Default:
	// username.
	FromUser string `yaml:"from_user"`

	// DisplayName sends the user's display_name (else the display name
	// its phone sent) in From. Default: true.
	DisplayName bool `yaml:"display_name"`

	// AssertIdentity adds P-Asserted-Identity with the caller's identity
	// (RFC 3325 §9.1): for a PBX that is a trusted node of ours. Never
	// copied from the phone. Default: false.
	AssertIdentity bool `yaml:"assert_identity"`

	// Privacy is pass (a caller whose phone asks for privacy, RFC 3323,
	// is presented as anonymous and its Privacy header is passed), id
	// (Privacy: id on every call, RFC 3325 §9.3: the PBX keeps the
	// identity to itself) or none (no Privacy header, never anonymous).
	// Default: pass.
	Privacy string `yaml:"privacy"`
}

var (
	fromUsers     = []string{"username", "extension"}
	privacyModes  = []string{"pass", "id", "none"}
	maxRedirects  = 5
	defaultCaller = CallerID{FromUser: "username", DisplayName: true, Privacy: "pass"}
)

func (d *decoder) validateTrunkIdentity(p string, t Trunk) {
	if t.Domain != "" && !validHost(t.Domain) {
		d.errorf(p+".domain", "%q is not a valid host name or IP address", t.Domain)
	}
	d.oneOf(p+".caller_id.from_user", t.CallerID.FromUser, fromUsers)
	d.oneOf(p+".caller_id.privacy", t.CallerID.Privacy, privacyModes)
	if t.FollowRedirects < 0 || t.FollowRedirects > maxRedirects {
		d.errorf(p+".follow_redirects", "%d is out of range: must be from 0 to %d", t.FollowRedirects, maxRedirects)
	}
}
