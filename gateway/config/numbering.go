package config

import (
	"regexp"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Numbering configures how numbers are rewritten between the phones and
// the trunks: the home region for E.164 normalisation and how callers
// from a trunk are presented to the phones. Per trunk rules are under
// trunks[].number.
type Numbering struct {
	// Region is the home region, an ISO 3166 code such as CH: national
	// numbers (0441234567) are read as numbers of this country. Required
	// when a trunk's number.format is e164 or national, or present is not
	// as_received. Default: empty.
	Region string `yaml:"region"`

	// Present is how a caller number from a trunk is shown to the phones:
	// national (0441234567; foreign numbers as dialled from the home
	// region, 0049301234567), e164 (+41441234567) or as_received.
	// Numbers that do not parse as phone numbers (internal extensions)
	// are shown as received. Default: as_received.
	Present string `yaml:"present"`

	// OutsidePrefix is put in front of external caller numbers shown to
	// the phones, so that calling back dials the trunk (the outside line
	// prefix, often 0 or 9): up to 8 digits, * and #. Only with present:
	// national. Default: empty.
	OutsidePrefix string `yaml:"outside_prefix"`
}

// TrunkNumber rewrites the numbers of calls sent to one trunk. The steps
// run in order: strip, prefix, format.
type TrunkNumber struct {
	// Strip is how many leading characters are removed from the dialled
	// number (the outside line prefix, as the 0 of 0 0441234567);
	// 0 to 16. Default: 0.
	Strip int `yaml:"strip"`

	// Prefix is added in front after stripping: digits, * and #, with an
	// optional leading + (as +41). Default: empty.
	Prefix string `yaml:"prefix"`

	// Format is how the number is sent: e164 (+41441234567), national
	// (as dialled inside the home region: 0441234567, 0049301234567) or
	// as_dialled (unchanged after strip and prefix). e164 and national
	// need numbering.region. Default: as_dialled.
	Format string `yaml:"format"`
}

// Number formats of trunks[].number.format and numbering.present.
const (
	FormatE164       = "e164"
	FormatNational   = "national"
	FormatAsDialled  = "as_dialled"
	FormatAsReceived = "as_received"
)

var (
	numberFormats  = []string{FormatE164, FormatNational, FormatAsDialled}
	presentFormats = []string{FormatNational, FormatE164, FormatAsReceived}
	prefixRE       = regexp.MustCompile(`^\+?[0-9*#]{0,16}$`)
	outsideRE      = regexp.MustCompile(`^[0-9*#]{0,8}$`)
)

// defaultNumbering returns the numbering defaults.
func defaultNumbering() Numbering { return Numbering{Present: FormatAsReceived} }

func (d *decoder) validateNumbering(c *Config) {
	n := &c.Numbering
	if n.Region != "" && !phonenumbers.GetSupportedRegions()[strings.ToUpper(n.Region)] {
		d.errorf("numbering.region", "%q is not a known region: use an ISO 3166 code such as CH", n.Region)
	}
	d.oneOf("numbering.present", n.Present, presentFormats)
	if n.Present != FormatAsReceived && n.Present != "" && n.Region == "" {
		d.errorf("numbering.present", "%s needs numbering.region", n.Present)
	}
	if !outsideRE.MatchString(n.OutsidePrefix) {
		d.errorf("numbering.outside_prefix", "%q is not a prefix: use up to 8 digits, * and #", n.OutsidePrefix)
	} else if n.OutsidePrefix != "" && n.Present != FormatNational {
		d.errorf("numbering.outside_prefix", "needs present: national")
	}
	for i, t := range c.Trunks {
		p := index("trunks", i) + ".number"
		tn := t.Number
		if tn.Strip < 0 || tn.Strip > 16 {
			d.errorf(p+".strip", "%d is out of range: must be from 0 to 16", tn.Strip)
		}
		if !prefixRE.MatchString(tn.Prefix) {
			d.errorf(p+".prefix", "%q is not a prefix: use up to 16 digits, * and # with an optional leading +", tn.Prefix)
		}
		if d.oneOf(p+".format", tn.Format, numberFormats) && tn.Format != FormatAsDialled && n.Region == "" {
			d.errorf(p+".format", "%s needs numbering.region", tn.Format)
		}
	}
}
