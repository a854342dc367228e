package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// CTI configures the CTI drivers: one process per PBX link, supervised by
// the gateway (DESIGN.md, "Drivers are processes").
type CTI struct {
	// Drivers are the CTI drivers the gateway starts. Default: none.
	Drivers []CTIDriver `yaml:"drivers"`
}

// CTIDriver is one CTI driver process and the PBX it talks to.
type CTIDriver struct {
	// Name identifies the driver in logs, events, metrics and the admin
	// API: 1 to 63 lowercase letters, digits, _ and -, starting with a
	// letter or digit. Required; unique.
	Name string `yaml:"name"`

	// Driver is a driver bundled in the switchboard binary: mitel, avaya
	// or cisco. Give driver or path, not both.
	Driver string `yaml:"driver"`

	// Path is the absolute path of a third-party driver executable (built
	// on the driver SDK, plugins/sdk). It needs sha256.
	Path string `yaml:"path"`

	// SHA256 is the hex SHA-256 of the executable at path (sha256sum),
	// optionally prefixed "sha256:". The gateway refuses to start an
	// executable that does not match. Required with path, not allowed
	// with driver.
	SHA256 string `yaml:"sha256"`

	// Config is the driver's own settings, a mapping handed to the driver
	// as JSON; the driver checks it (see the driver's README). Default:
	// empty.
	Config DriverConfig `yaml:"config"`

	// Monitor lists the devices (extensions, as the PBX names them)
	// monitored from start; monitors are restored whenever the driver or
	// its link restarts. Unique. Default: none.
	Monitor []string `yaml:"monitor"`
}

// BundledDrivers are the driver names the driver key accepts.
var BundledDrivers = []string{"mitel", "avaya", "cisco"}

// DriverConfig is a driver's config section, kept as JSON. In YAML it is
// a mapping of any depth; integers, numbers, booleans and null keep their
// type, every other scalar becomes a string.
type DriverConfig []byte

// maxDriverConfigNodes bounds the nodes of one driver config, aliases
// expanded, so that an alias bomb cannot blow up memory.
const maxDriverConfigNodes = 10000

// UnmarshalYAML converts a mapping to JSON.
func (c *DriverConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("expected a mapping, got %s", describe(n))
	}
	budget := maxDriverConfigNodes
	v, err := jsonValue(n, "", &budget)
	if err != nil {
		return err
	}
	b, err := marshalJSON(v)
	if err != nil {
		return fmt.Errorf("cannot convert to JSON: %w", err)
	}
	*c = DriverConfig(b)
	return nil
}

// orderedMap is a JSON object that keeps the order of the YAML keys.
type orderedMap struct {
	keys []string
	vals []any
}

// MarshalJSON writes the object in key order.
func (m orderedMap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range m.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := marshalJSON(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := marshalJSON(m.vals[i])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshalJSON is json.Marshal without HTML escaping: the JSON goes to a
// driver, not a web page, and should read as written.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// jsonValue converts n to a value encoding/json writes; path names n in
// errors ("tls.ca" below the config key).
func jsonValue(n *yaml.Node, path string, budget *int) (any, error) {
	if *budget--; *budget < 0 {
		return nil, fmt.Errorf("more than %d values (too many aliases?)", maxDriverConfigNodes)
	}
	at := func(format string, args ...any) error {
		if path == "" {
			return fmt.Errorf(format, args...)
		}
		return fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...))
	}
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		m := orderedMap{}
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolve(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				return nil, at("keys must be plain strings, got %s", describe(k))
			}
			if k.ShortTag() == "!!merge" {
				return nil, at("merge keys (<<) are not supported; write the keys out")
			}
			kp := joinKey(path, k.Value)
			if l, dup := seen[k.Value]; dup {
				return nil, fmt.Errorf("%s: duplicate key (first at line %d)", kp, l)
			}
			seen[k.Value] = k.Line
			v, err := jsonValue(n.Content[i+1], kp, budget)
			if err != nil {
				return nil, err
			}
			m.keys = append(m.keys, k.Value)
			m.vals = append(m.vals, v)
		}
		return m, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, e := range n.Content {
			v, err := jsonValue(e, path+"["+strconv.Itoa(i)+"]", budget)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, at("%v", err)
			}
			return b, nil
		case "!!int":
			var i int64
			if err := n.Decode(&i); err != nil {
				return nil, at("integer %s is out of range", clip(n.Value))
			}
			return i, nil
		case "!!float":
			var f float64
			if err := n.Decode(&f); err != nil || f != f || f > 1e308 || f < -1e308 {
				return nil, at("number %s cannot be written in JSON", clip(n.Value))
			}
			return f, nil
		}
		return n.Value, nil
	}
	return nil, at("unsupported value")
}

var (
	ctiNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	sha256RE  = regexp.MustCompile(`^(sha256:)?[0-9a-fA-F]{64}$`)
)

func (d *decoder) validateCTI(c *CTI) {
	names := map[string]int{}
	for i, dr := range c.Drivers {
		p := index("cti.drivers", i)
		switch j, dup := names[dr.Name]; {
		case dr.Name == "":
			d.errorf(p+".name", "is required")
		case !ctiNameRE.MatchString(dr.Name):
			d.errorf(p+".name", "%q is not a valid driver name: use 1 to 63 lowercase letters, digits, _ and -, starting with a letter or digit", dr.Name)
		case dup:
			d.errorf(p+".name", "duplicate driver name %q (also cti.drivers[%d])", dr.Name, j)
		default:
			names[dr.Name] = i
		}
		switch {
		case dr.Driver == "" && dr.Path == "":
			d.errorf(p, "give driver (one of %s) or path", strings.Join(BundledDrivers, ", "))
		case dr.Driver != "" && dr.Path != "":
			d.errorf(p+".path", "give driver or path, not both")
		case dr.Driver != "":
			d.oneOf(p+".driver", dr.Driver, BundledDrivers)
			if dr.SHA256 != "" {
				d.errorf(p+".sha256", "only for a driver given by path")
			}
		default:
			if !filepath.IsAbs(dr.Path) {
				d.errorf(p+".path", "%q must be an absolute path", dr.Path)
			}
			switch {
			case dr.SHA256 == "":
				d.errorf(p+".sha256", "is required with path: the executable's hex SHA-256 (sha256sum)")
			case !sha256RE.MatchString(dr.SHA256):
				d.errorf(p+".sha256", "%q is not a SHA-256: want 64 hex digits", clip(dr.SHA256))
			}
		}
		devs := map[string]int{}
		for k, dev := range dr.Monitor {
			mp := index(p+".monitor", k)
			switch j, dup := devs[dev]; {
			case dev == "" || len(dev) > 128 || strings.ContainsFunc(dev, func(r rune) bool { return r <= ' ' || r == 0x7f }):
				d.errorf(mp, "%q is not a device: 1 to 128 characters, no spaces or control characters", clip(dev))
			case dup:
				d.errorf(mp, "duplicate device %q (also monitor[%d])", dev, j)
			default:
				devs[dev] = k
			}
		}
	}
}
