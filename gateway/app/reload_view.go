package app

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"

	"github.com/switchboard-gw/switchboard/gateway/config"
)

// masked replaces a secret's value in GET /api/v1/config.
const masked = "********"

// configView is cfg as a tree of maps, lists and scalars keyed by the
// YAML names of the config file (durations as their strings, a driver's
// config as its JSON), for GET /api/v1/config and for the diff a reload
// makes. With mask, every secret (see isSecret) is replaced by masked and
// the password of a store URL is taken out.
func configView(cfg *config.Config, mask bool) map[string]any {
	v, _ := viewOf(reflect.ValueOf(*cfg), mask).(map[string]any)
	if mask {
		if s, ok := v["store"].(string); ok {
			v["store"] = maskURL(s)
		}
	}
	return v
}

var (
	durationType     = reflect.TypeFor[config.Duration]()
	driverConfigType = reflect.TypeFor[config.DriverConfig]()
)

func viewOf(v reflect.Value, mask bool) any {
	switch v.Type() {
	case durationType:
		return v.Interface().(config.Duration).String()
	case driverConfigType:
		b := v.Interface().(config.DriverConfig)
		if len(b) == 0 {
			return map[string]any{}
		}
		var out any
		if err := json.Unmarshal(b, &out); err != nil {
			return masked // not JSON: shown as nothing rather than as raw bytes
		}
		if mask {
			out = maskJSON(out)
		}
		return out
	}
	switch v.Kind() {
	case reflect.Struct:
		out := map[string]any{}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			val := viewOf(v.Field(i), mask)
			if mask && isSecret(name) {
				val = maskValue(val)
			}
			out[name] = val
		}
		return out
	case reflect.Slice, reflect.Array:
		out := make([]any, 0, v.Len())
		for i := range v.Len() {
			out = append(out, viewOf(v.Index(i), mask))
		}
		return out
	case reflect.Map:
		out := map[string]any{}
		for _, k := range v.MapKeys() {
			name := fmt.Sprint(k.Interface())
			val := viewOf(v.MapIndex(k), mask)
			if mask && isSecret(name) {
				val = maskValue(val)
			}
			out[name] = val
		}
		return out
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return viewOf(v.Elem(), mask)
	}
	return v.Interface()
}

// isSecret reports whether a key names a secret: a password, a secret, a
// key, a token or credentials (the TLS key's file name included: better
// masked than shown).
func isSecret(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"password", "passwd", "secret", "token", "credential", "apikey", "api_key", "private"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return n == "key" || strings.HasSuffix(n, "_key") || strings.HasSuffix(n, "-key") || n == "pass" || n == "psk"
}

// maskValue hides a secret's value; an empty one stays empty so that the
// admin can see it is not set.
func maskValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		if x == "" {
			return ""
		}
	}
	return masked
}

// maskJSON masks the secrets of a driver's own config (any depth).
func maskJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if isSecret(k) {
				x[k] = maskValue(val)
			} else {
				x[k] = maskJSON(val)
			}
		}
	case []any:
		for i := range x {
			x[i] = maskJSON(x[i])
		}
	}
	return v
}

// maskURL hides the password of a URL (postgres://user:pass@host/db).
func maskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), masked)
	}
	return u.String()
}

// diffKeys lists the keys whose values differ between two views, as
// dotted paths ("sip.listen", "trunks[pbx].target"): a list of named
// entries (trunks, users, cti.drivers...) is compared entry by entry on
// its name, an entry added or removed is named whole; any other list is
// one value.
func diffKeys(a, b any) []string {
	var out []string
	diffInto(&out, "", a, b)
	slices.Sort(out)
	return out
}

func diffInto(out *[]string, path string, a, b any) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		for k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			diffInto(out, p, am[k], bm[k])
		}
		return
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok {
		an, aNamed := byName(al)
		bn, bNamed := byName(bl)
		if aNamed && bNamed {
			for n, av := range an {
				diffInto(out, path+"["+n+"]", av, bn[n])
			}
			for n, bv := range bn {
				if _, ok := an[n]; !ok {
					diffInto(out, path+"["+n+"]", nil, bv)
				}
			}
			return
		}
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, path)
	}
}

// byName indexes a list of entries by their name (or username); ok is
// false when an entry has none or two share one.
func byName(l []any) (map[string]any, bool) {
	out := make(map[string]any, len(l))
	for _, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, false
		}
		n, _ := m["name"].(string)
		if n == "" {
			n, _ = m["username"].(string)
		}
		if _, dup := out[n]; n == "" || dup {
			return nil, false
		}
		out[n] = e
	}
	return out, true
}
