package ctisim

import (
	"slices"
	"testing"
)

func TestParseExtensions(t *testing.T) {
	for in, want := range map[string][]string{
		"":            nil,
		"201":         {"201"},
		" 201, 202 ,": {"201", "202"},
		"201-203,300": {"201", "202", "203", "300"},
		"9-9":         {"9"},
	} {
		got, err := ParseExtensions(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"203-201", "a-b", "1-200000"} {
		if _, err := ParseExtensions(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
