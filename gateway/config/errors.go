package config

import (
	"strconv"
	"strings"
)

// Error is one problem in a configuration file.
type Error struct {
	// File is the file name given to Load or Parse; empty from Validate.
	File string
	// Line is the 1-based line of the offending key or value; 0 when the
	// problem has no place in the file (a default, or an unreadable file).
	Line int
	// Key is the dotted path of the key, as sip.listen[2] or
	// users[3].password (indexes count from 0); empty for problems with
	// the whole file, such as YAML syntax errors.
	Key string
	// Msg says what is wrong.
	Msg string
	// Err is the underlying error, if any (for example from reading the
	// file); it is what Unwrap returns.
	Err error
}

// Error formats e as "FILE:LINE: key: message", leaving out the parts that
// are empty.
func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		if e.File == "" {
			b.WriteString("line ")
		} else {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(e.Line))
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the underlying error, if any.
func (e Error) Unwrap() error { return e.Err }

// Errors is every problem found in a configuration file, in file order.
type Errors []Error

// Error returns one Error per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns each Error, so that errors.Is and errors.As look at all.
func (es Errors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

// maxErrors bounds how many errors one file can produce, so that a hostile
// or mangled file cannot make the report (or the work) explode.
const maxErrors = 100

// errTooMany is the last entry of a report that hit maxErrors.
const errTooMany = "too many errors; stopping"
