package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Load reads and validates the configuration file at path. On any problem,
// including an unreadable file, it returns an *Errors listing every problem
// found, each with its line.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		msg := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			msg = pe.Err.Error()
		}
		return nil, &Errors{{File: path, Msg: "cannot read file: " + msg, Err: err}}
	}
	return Parse(path, data)
}

// Parse is Load on bytes; name is the file name used in messages. Empty
// input, or input holding only comments, gives the defaults.
func Parse(name string, data []byte) (*Config, error) {
	d := &decoder{file: name, lines: map[string]int{}, nodes: map[string]*yaml.Node{}}
	c := base()
	if root := d.parse(data); root != nil {
		d.decode(root, "", reflect.ValueOf(c).Elem())
	}
	c.fill()
	d.validate(c)
	if err := d.result(); err != nil {
		return nil, err
	}
	c.warnings = d.warns
	return c, nil
}

// Validate checks c as it is, without filling in defaults (Default and
// Parse have done that). Problems are returned as *Errors without lines.
func (c *Config) Validate() error {
	d := &decoder{lines: map[string]int{}, nodes: map[string]*yaml.Node{}}
	d.validate(c)
	return d.result()
}

// decoder walks a yaml.Node tree against the Config struct, decoding values
// and collecting every problem with its key path and line.
type decoder struct {
	file  string
	errs  Errors
	warns Errors                // not errors: the file loads (warnings.go)
	full  bool                  // maxErrors reached: stop collecting
	lines map[string]int        // key path -> line of its key or value
	nodes map[string]*yaml.Node // key path -> its value node, aliases resolved
}

// add records an error at line.
func (d *decoder) add(line int, key, format string, args ...any) {
	if d.full {
		return
	}
	if len(d.errs) == maxErrors {
		d.full = true
		return
	}
	d.errs = append(d.errs, Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// errorf records an error for the key at path, placing it on the line of
// that key or, when the key is not in the file, of its nearest ancestor.
func (d *decoder) errorf(path, format string, args ...any) {
	d.add(d.lineOf(path), path, format, args...)
}

// lineOf returns the line of path or of its nearest ancestor in the file.
func (d *decoder) lineOf(path string) int {
	for path != "" {
		if l, ok := d.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// has reports whether the key at path was given in the file.
func (d *decoder) has(path string) bool {
	_, ok := d.lines[path]
	return ok
}

// result returns the errors collected, sorted by line, or nil.
func (d *decoder) result() error {
	if len(d.errs) == 0 {
		return nil
	}
	errs := slices.Clone(d.errs)
	slices.SortStableFunc(errs, func(a, b Error) int { return a.Line - b.Line })
	if d.full {
		errs = append(errs, Error{File: d.file, Msg: errTooMany})
	}
	return &errs
}

// yamlLine matches the position prefix of YAML syntax errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntax records a YAML syntax error.
func (d *decoder) syntax(err error) {
	msg := err.Error()
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	d.add(line, "", "invalid YAML: %s", msg)
}

// parse parses data into a node tree and returns its root value, or nil
// when there is nothing to decode.
func (d *decoder) parse(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			d.syntax(err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		d.syntax(err)
	default:
		d.add(extra.Line, "", "only one YAML document is allowed")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is a YAML null (~, null or nothing at all).
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// defaulter is a list entry type with defaults of its own (trunks).
type defaulter interface{ setDefaults() }

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	stringListType  = reflect.TypeFor[StringList]()
)

// decode decodes n into v. A null keeps what v holds, which is the default.
// The tree is finite and decode descends only as deep as the Config type,
// so aliases, even cyclic ones, cannot make it loop.
func (d *decoder) decode(n *yaml.Node, path string, v reflect.Value) {
	if d.full {
		return
	}
	line := n.Line
	n = resolve(n)
	if n.Kind == yaml.AliasNode {
		d.add(line, path, "unresolved alias")
		return
	}
	d.nodes[path] = n
	if isNull(n) {
		return
	}
	if v.Type() != stringListType && reflect.PointerTo(v.Type()).Implements(unmarshalerType) {
		if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
			d.add(line, path, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, path, v)
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && v.Type() == stringListType {
			n = &yaml.Node{Kind: yaml.SequenceNode, Line: n.Line, Column: n.Column, Content: []*yaml.Node{n}}
		}
		if n.Kind != yaml.SequenceNode {
			want := "a list"
			if v.Type() == stringListType {
				want = "a string or a list of strings"
			}
			d.add(line, path, "expected %s, got %s", want, describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, e := range n.Content {
			ep := path + "[" + strconv.Itoa(i) + "]"
			d.lines[ep] = e.Line
			if df, ok := s.Index(i).Addr().Interface().(defaulter); ok {
				df.setDefaults() // list entries start from their defaults too
			}
			d.decode(e, ep, s.Index(i))
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.add(line, path, "expected a string, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int:
		var i int
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			d.add(line, path, "expected an integer, got %s", describe(n))
		} else if err := n.Decode(&i); err != nil {
			d.add(line, path, "integer %s is out of range", n.Value)
		} else {
			v.SetInt(int64(i))
		}
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.add(line, path, "expected true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	default:
		// Only reachable if a field of an unsupported type is added.
		d.add(line, path, "internal error: cannot decode into %s", v.Type())
	}
}

// decodeStruct decodes a mapping into the struct v, reporting unknown and
// duplicate keys on the line of the key.
func (d *decoder) decodeStruct(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.add(n.Line, path, "expected a mapping, got %s", describe(n))
		return
	}
	fields := fieldsOf(v.Type())
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content) && !d.full; i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		rk := resolve(k)
		if rk.Kind != yaml.ScalarNode {
			d.add(k.Line, path, "keys must be plain strings, got %s", describe(rk))
			continue
		}
		kp := joinKey(path, rk.Value)
		if rk.ShortTag() == "!!merge" {
			d.add(k.Line, kp, "merge keys (<<) are not supported; write the keys out")
			continue
		}
		if l, dup := first[rk.Value]; dup {
			d.add(k.Line, kp, "duplicate key (first at line %d)", l)
			continue
		}
		first[rk.Value] = k.Line
		f, ok := fields[rk.Value]
		if !ok {
			d.add(k.Line, kp, "unknown key%s", suggest(rk.Value, v.Type()))
			continue
		}
		if rv := resolve(val); rv.Kind == yaml.ScalarNode {
			d.lines[kp] = val.Line
		} else {
			d.lines[kp] = k.Line
		}
		d.decode(val, kp, v.Field(f))
	}
}

// plainKey matches keys that need no quoting in a key path.
var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// joinKey appends key to the dotted path, quoting odd keys so that the
// report stays one line per error.
func joinKey(path, key string) string {
	if !plainKey.MatchString(key) {
		key = strconv.Quote(key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldCache maps a struct type to its yaml key -> field index table.
var fieldCache sync.Map

// fieldsOf returns the yaml keys of the struct type t.
func fieldsOf(t reflect.Type) map[string]int {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]int)
	}
	m := map[string]int{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	fieldCache.Store(t, m)
	return m
}

// suggest returns ` (did you mean "x"?)` for the known key of t closest to
// key, or "" when none is close.
func suggest(key string, t reflect.Type) string {
	if len(key) > 64 {
		return ""
	}
	best, bestDist := "", 3
	for name := range fieldsOf(t) {
		if dist := editDistance(strings.ToLower(key), name); dist < bestDist || dist == bestDist && best != "" && name < best {
			best, bestDist = name, dist
		}
	}
	if best == "" || bestDist >= len(key) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
