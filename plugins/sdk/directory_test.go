package sdk

import (
	"errors"
	"fmt"
	"testing"

	"github.com/switchboard-gw/switchboard/plugins"
)

// TestDirectoryPages: paging through a directory yields every entry once,
// in order, and ends; bad tokens are invalid arguments.
func TestDirectoryPages(t *testing.T) {
	var d Directory
	for i := range 1203 {
		d = append(d, plugins.DirectoryEntry{Device: fmt.Sprint(1000 + i), Name: fmt.Sprint("User ", i)})
	}
	var got []plugins.DirectoryEntry
	token, pages := "", 0
	for {
		p, err := d.ListDevices(t.Context(), token, 500)
		if err != nil {
			t.Fatal(err)
		}
		got, pages = append(got, p.Devices...), pages+1
		if p.Next == "" {
			break
		}
		token = p.Next
	}
	if pages != 3 || len(got) != len(d) || got[1202] != d[1202] {
		t.Fatalf("%d pages, %d entries", pages, len(got))
	}
	for _, bad := range []string{"x", "-1", "99999"} {
		if _, err := d.ListDevices(t.Context(), bad, 0); !errors.Is(err, plugins.ErrInvalidArgument) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	if err := (Directory{{Device: "1"}, {Device: "1"}}).Validate(); err == nil {
		t.Error("a device twice validated")
	}
	if err := (Directory{{Name: "x"}}).Validate(); err == nil {
		t.Error("an entry without device validated")
	}
}
