package settings46xx

import (
	"strconv"
	"strings"
)

// Format writes f in the canonical form: keywords upper case, one space
// between fields, CRLF-free. Parse(Format(f)) gives the same lines.
func Format(f *File) []byte {
	var b strings.Builder
	for _, l := range f.Lines {
		b.WriteString(l.String())
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// String is the line as Format writes it.
func (l Line) String() string {
	switch l.Kind {
	case Comment:
		if l.Text == "" {
			return "##"
		}
		return "## " + l.Text
	case Label:
		return "# " + l.Target
	case Set:
		return "SET " + l.Name + " " + l.Value
	case Get:
		return "GET " + l.Value
	case Goto:
		return "GOTO " + l.Target
	case If:
		return "IF $" + l.Name + " " + l.Op + " " + l.Value + " GOTO " + l.Target
	}
	return ""
}

// Unquote returns a SET value without its surrounding double quotes.
func Unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// Quote returns v in double quotes when it holds blanks, commas or
// quotes would otherwise be needed; values with a double quote inside
// cannot be written and are returned with it removed.
func Quote(v string) string {
	v = strings.ReplaceAll(v, `"`, "")
	if v == "" || strings.ContainsAny(v, " \t,;") {
		return `"` + v + `"`
	}
	return v
}

// Eval runs f as a phone does for the variables vars (MODEL4, GROUP,
// SIG_IN_USE, ...; names without $): lines run in order, IF and GOTO
// skip forward to their label, SET assigns (a later SET of a name wins),
// GET is noted. It returns the settings in force at the end, their
// values unquoted, and the files named by GET in order. Names are
// compared as written.
func Eval(f *File, vars map[string]string) (settings map[string]string, gets []string) {
	settings = map[string]string{}
	labels := map[string]int{}
	for i, l := range f.Lines {
		if l.Kind == Label {
			k := strings.ToUpper(l.Target)
			if _, dup := labels[k]; !dup {
				labels[k] = i
			}
		}
	}
	jump := func(i int, target string) int {
		j, ok := labels[strings.ToUpper(target)]
		if !ok || j <= i {
			return len(f.Lines) // a phone stops at a jump it cannot follow
		}
		return j
	}
	for i := 0; i < len(f.Lines); i++ {
		l := f.Lines[i]
		switch l.Kind {
		case Set:
			settings[l.Name] = Unquote(l.Value)
		case Get:
			gets = append(gets, l.Value)
		case Goto:
			i = jump(i, l.Target)
		case If:
			if compare(vars[l.Name], l.Op, Unquote(l.Value)) {
				i = jump(i, l.Target)
			}
		}
	}
	return settings, gets
}

// compare applies an IF operator: SEQ and SNE compare strings, the others
// numbers (false when either side is not a number).
func compare(have, op, want string) bool {
	switch op {
	case "SEQ":
		return have == want
	case "SNE":
		return have != want
	}
	a, err1 := strconv.ParseFloat(have, 64)
	b, err2 := strconv.ParseFloat(want, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	switch op {
	case "EQ":
		return a == b
	case "NE":
		return a != b
	case "LT":
		return a < b
	case "LE":
		return a <= b
	case "GT":
		return a > b
	case "GE":
		return a >= b
	}
	return false
}
