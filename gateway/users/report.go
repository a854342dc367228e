package users

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// reportUsernameMax is how many runes of a failed username the report keeps;
// a hostile file can make them arbitrarily long.
const reportUsernameMax = 100

// WriteReport writes the failed-user report as CSV with the header
// row,username,reason, one line per failure in the order given.
//
// The report is meant to be opened in a spreadsheet, and failed usernames are
// whatever the file held, so a username that a spreadsheet would run as a
// formula (starting with = + - @, tab or CR) is written with a leading
// apostrophe (OWASP "CSV injection"); over-long ones are cut to 100 runes
// and marked with "…".
func WriteReport(w io.Writer, failures []Failure) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"row", "username", "reason"}); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	for _, f := range failures {
		if err := cw.Write([]string{strconv.Itoa(f.Row), reportCell(f.Username), reportCell(f.Reason)}); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// reportCell makes s safe to put in a spreadsheet cell.
func reportCell(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if utf8.RuneCountInString(s) > reportUsernameMax {
		s = string([]rune(s)[:reportUsernameMax]) + "…"
	}
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		s = "'" + s
	}
	return s
}
