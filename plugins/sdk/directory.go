package sdk

import (
	"context"
	"fmt"
	"strconv"

	"github.com/switchboard-gw/switchboard/plugins"
)

// DefaultPageSize is the page size of [Directory.ListDevices] when the
// host asks for 0; MaxPageSize caps what it may ask for.
const (
	DefaultPageSize = 500
	MaxPageSize     = 5000
)

// Directory is a device directory a driver holds in memory (a configured
// list of names, or one it read from its PBX), served page by page: a
// driver embeds it or calls ListDevices from its own to implement
// [DeviceLister]. The page token is the offset of the next entry.
type Directory []plugins.DirectoryEntry

// ListDevices returns the page of d that token (an offset, "" = 0) starts
// and size (0: [DefaultPageSize], capped at [MaxPageSize]) bounds.
func (d Directory) ListDevices(_ context.Context, token string, size int) (plugins.DevicePage, error) {
	off := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(d) {
			return plugins.DevicePage{}, fmt.Errorf("list devices: %w: bad page token %q", plugins.ErrInvalidArgument, token)
		}
		off = n
	}
	if size <= 0 {
		size = DefaultPageSize
	}
	size = min(size, MaxPageSize)
	end := min(off+size, len(d))
	p := plugins.DevicePage{Devices: append([]plugins.DirectoryEntry{}, d[off:end]...)}
	if end < len(d) {
		p.Next = strconv.Itoa(end)
	}
	return p, nil
}

// Validate checks a configured directory: every entry names a device,
// no device twice.
func (d Directory) Validate() error {
	seen := make(map[string]bool, len(d))
	for i, e := range d {
		switch {
		case e.Device == "":
			return fmt.Errorf("directory[%d]: device is required", i)
		case seen[e.Device]:
			return fmt.Errorf("directory[%d]: device %q listed twice", i, e.Device)
		}
		seen[e.Device] = true
	}
	return nil
}
