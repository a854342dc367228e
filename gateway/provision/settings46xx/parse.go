// Package settings46xx reads, checks, writes and evaluates the settings
// files Avaya IP Office serves to its SIP phones and Avaya Workplace
// clients (46xxsettings.txt, 46xxspecials.txt; seed 003, chapter 19 "The
// IP Office Settings Files").
//
// A file is a list of lines, each one of:
//
//	SET NAME VALUE                  a setting (VALUE may be "quoted")
//	GET file                        fetch and apply another file
//	IF $VAR OP value GOTO label     skip forward to "# label" when true
//	GOTO label                      skip forward to "# label"
//	# label                         a jump target (also read as a comment)
//	## text                         a comment
//	(blank)
//
// Parse reports every problem with its line (a *LineError wrapping one of
// the sentinel errors below); Format writes a parsed file back in the
// canonical form, so Parse(Format(f)) gives f again.
package settings46xx

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Sentinel errors, wrapped with the line by *LineError.
var (
	// ErrUnknownCommand: the line is not SET, GET, IF, GOTO, a label, a
	// comment or blank.
	ErrUnknownCommand = errors.New("unknown command")
	// ErrBadName: a SET name or IF variable that is not letters, digits
	// and underscores.
	ErrBadName = errors.New("bad name")
	// ErrNoValue: SET without a value (write "" for an empty one), GET
	// without a file, IF or GOTO without a label.
	ErrNoValue = errors.New("missing value")
	// ErrUnterminatedQuote: a quoted value whose closing quote is missing.
	ErrUnterminatedQuote = errors.New("unterminated quote")
	// ErrBadCondition: an IF that is not IF $VAR OP value GOTO label with
	// OP one of SEQ SNE EQ NE LT LE GT GE.
	ErrBadCondition = errors.New("bad condition")
	// ErrUnknownLabel: a GOTO (or IF ... GOTO) to a label that no later
	// "# label" line defines. Jumps only go forward, so a file cannot
	// loop.
	ErrUnknownLabel = errors.New("goto to an unknown label")
	// ErrDuplicateLabel: two "# label" lines name the same label, so a
	// jump to it is ambiguous.
	ErrDuplicateLabel = errors.New("duplicate label")
	// ErrNotText: the file holds NUL bytes, control characters or invalid
	// UTF-8.
	ErrNotText = errors.New("not a text file")
	// ErrTooLong: a line longer than MaxLineBytes.
	ErrTooLong = errors.New("line too long")
	// ErrTooLarge: a file larger than MaxFileBytes or with more than
	// MaxLines lines.
	ErrTooLarge = errors.New("file too large")
	// ErrBadFile: a GET file name that is not a plain file name.
	ErrBadFile = errors.New("bad file name")
)

// Limits of what Parse accepts.
const (
	MaxFileBytes = 1 << 20
	MaxLineBytes = 4096
	MaxLines     = 20000
	// maxErrors is how many problems Parse reports before it stops.
	maxErrors = 50
)

// Kind is what a line is.
type Kind int

// Line kinds.
const (
	Blank Kind = iota
	Comment
	Label
	Set
	Get
	If
	Goto
)

// Line is one parsed line.
type Line struct {
	// Num is the 1-based line number in the parsed input.
	Num  int
	Kind Kind
	// Name is the setting of a SET, the variable (without $) of an IF.
	Name string
	// Value is the value of a SET as written (quotes kept), the file of
	// a GET, the operand of an IF.
	Value string
	// Op is the IF operator, upper case.
	Op string
	// Target is the label of a GOTO or IF, or the label a Label line
	// defines.
	Target string
	// Text is a comment's text after "##".
	Text string
}

// File is a parsed settings file.
type File struct {
	Lines []Line
}

// LineError is a problem at one line of a file.
type LineError struct {
	Line int
	Err  error
	Msg  string
}

func (e *LineError) Error() string {
	if e.Msg == "" {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("line %d: %v: %s", e.Line, e.Err, e.Msg)
}

func (e *LineError) Unwrap() error { return e.Err }

// Errors are all the problems of one file, in line order.
type Errors []*LineError

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is find any of the sentinel errors.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	fileRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	ops    = map[string]bool{"SEQ": true, "SNE": true, "EQ": true, "NE": true, "LT": true, "LE": true, "GT": true, "GE": true}
)

// Parse reads a settings file. On any problem it returns the lines it
// could read and an Errors value listing every problem (up to 50), each
// with its line number.
func Parse(data []byte) (*File, error) {
	var errs Errors
	fail := func(n int, err error, format string, args ...any) {
		if len(errs) < maxErrors {
			errs = append(errs, &LineError{Line: n, Err: err, Msg: fmt.Sprintf(format, args...)})
		}
	}
	if len(data) > MaxFileBytes {
		return nil, Errors{{Line: 1, Err: ErrTooLarge, Msg: fmt.Sprintf("%d bytes, at most %d", len(data), MaxFileBytes)}}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a BOM from Windows editors
	f := &File{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxFileBytes+1)
	n := 0
	for sc.Scan() {
		n++
		if n > MaxLines {
			fail(n, ErrTooLarge, "more than %d lines", MaxLines)
			break
		}
		raw := strings.TrimSuffix(sc.Text(), "\r")
		if len(raw) > MaxLineBytes {
			fail(n, ErrTooLong, "%d bytes, at most %d", len(raw), MaxLineBytes)
			continue
		}
		if !utf8.ValidString(raw) || strings.IndexFunc(raw, isControl) >= 0 {
			fail(n, ErrNotText, "control characters or invalid UTF-8")
			continue
		}
		l, err := parseLine(raw)
		if err != nil {
			var le *LineError
			if errors.As(err, &le) {
				fail(n, le.Err, "%s", le.Msg)
			}
			continue
		}
		l.Num = n
		f.Lines = append(f.Lines, l)
	}
	checkLabels(f, fail)
	if len(errs) > 0 {
		sortErrors(errs)
		return f, errs
	}
	return f, nil
}

func isControl(r rune) bool { return (r < 0x20 && r != '\t') || r == 0x7f }

// parseLine reads one line (without its end).
func parseLine(raw string) (Line, error) {
	s := strings.TrimSpace(raw)
	bad := func(err error, format string, args ...any) (Line, error) {
		return Line{}, &LineError{Err: err, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case s == "":
		return Line{Kind: Blank}, nil
	case strings.HasPrefix(s, "##"):
		return Line{Kind: Comment, Text: strings.TrimSpace(s[2:])}, nil
	case strings.HasPrefix(s, "#"):
		label := collapse(s[1:])
		if label == "" {
			return Line{Kind: Comment}, nil
		}
		return Line{Kind: Label, Target: label}, nil
	}
	word, rest := cutField(s)
	switch strings.ToUpper(word) {
	case "SET":
		name, value := cutField(rest)
		if name == "" {
			return bad(ErrNoValue, "SET without a name")
		}
		if !nameRE.MatchString(name) {
			return bad(ErrBadName, "%q: use letters, digits and _", name)
		}
		if value == "" {
			return bad(ErrNoValue, "SET %s without a value (write \"\" for an empty one)", name)
		}
		if err := checkQuotes(value); err != nil {
			return bad(err, "SET %s %s", name, value)
		}
		return Line{Kind: Set, Name: name, Value: value}, nil
	case "GET":
		file, extra := cutField(rest)
		if file == "" {
			return bad(ErrNoValue, "GET without a file name")
		}
		if extra != "" || !fileRE.MatchString(file) || len(file) > 255 {
			return bad(ErrBadFile, "%q: want one plain file name", rest)
		}
		return Line{Kind: Get, Value: file}, nil
	case "GOTO":
		label := collapse(rest)
		if label == "" {
			return bad(ErrNoValue, "GOTO without a label")
		}
		return Line{Kind: Goto, Target: label}, nil
	case "IF":
		return parseIf(rest)
	}
	return bad(ErrUnknownCommand, "%q: want SET, GET, IF, GOTO, # label or ## comment", word)
}

// parseIf reads the rest of "IF $VAR OP value GOTO label".
func parseIf(rest string) (Line, error) {
	bad := func(format string, args ...any) (Line, error) {
		return Line{}, &LineError{Err: ErrBadCondition, Msg: fmt.Sprintf(format, args...)}
	}
	v, rest := cutField(rest)
	if !strings.HasPrefix(v, "$") || !nameRE.MatchString(v[1:]) {
		return bad("%q: the variable is $NAME", v)
	}
	op, rest := cutField(rest)
	op = strings.ToUpper(op)
	if !ops[op] {
		return bad("%q: the operator is one of SEQ SNE EQ NE LT LE GT GE", op)
	}
	operand, rest := cutField(rest)
	if operand == "" {
		return bad("IF %s %s without a value", v, op)
	}
	if err := checkQuotes(operand); err != nil {
		return Line{}, &LineError{Err: err, Msg: operand}
	}
	g, label := cutField(rest)
	if !strings.EqualFold(g, "GOTO") {
		return bad("want GOTO after the value, got %q", g)
	}
	label = collapse(label)
	if label == "" {
		return Line{}, &LineError{Err: ErrNoValue, Msg: "IF ... GOTO without a label"}
	}
	return Line{Kind: If, Name: v[1:], Op: op, Value: operand, Target: label}, nil
}

// cutField splits s at its first run of blanks; a leading quoted string is
// one field.
func cutField(s string) (field, rest string) {
	s = strings.TrimLeft(s, " \t")
	if strings.HasPrefix(s, `"`) {
		if i := strings.IndexByte(s[1:], '"'); i >= 0 {
			end := i + 2
			if end == len(s) || s[end] == ' ' || s[end] == '\t' {
				return s[:end], strings.TrimSpace(s[end:])
			}
		}
	}
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
}

// checkQuotes reports values with an odd number of double quotes: a
// quoted value never closed.
func checkQuotes(v string) error {
	if strings.Count(v, `"`)%2 != 0 {
		return ErrUnterminatedQuote
	}
	return nil
}

// collapse trims s and turns each run of blanks into one space, so that
// "# GROUP  1" and "GOTO GROUP 1" name the same label.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// checkLabels reports duplicate labels and jumps to labels that do not
// follow the jump.
func checkLabels(f *File, fail func(int, error, string, ...any)) {
	first := map[string]int{} // upper-case label -> line
	for _, l := range f.Lines {
		if l.Kind != Label {
			continue
		}
		k := strings.ToUpper(l.Target)
		if at, dup := first[k]; dup {
			fail(l.Num, ErrDuplicateLabel, "%q, also at line %d", l.Target, at)
			continue
		}
		first[k] = l.Num
	}
	for _, l := range f.Lines {
		if l.Kind != Goto && l.Kind != If {
			continue
		}
		at, ok := first[strings.ToUpper(l.Target)]
		if !ok || at <= l.Num {
			fail(l.Num, ErrUnknownLabel, "%q: no \"# %s\" line after this one", l.Target, l.Target)
		}
	}
}

func sortErrors(es Errors) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].Line < es[j-1].Line; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}
