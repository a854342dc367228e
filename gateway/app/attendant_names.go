package app

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboard-gw/switchboard/gateway/attendant"
)

// Paging of GET /api/v1/devices/names.
const (
	namesPageDefault = 1000
	namesPageMax     = 5000
)

// deviceName is one lamp's label.
type deviceName struct {
	Device string `json:"device"`
	Name   string `json:"name"`
}

// namesPage is the answer of GET /api/v1/devices/names.
type namesPage struct {
	Names []deviceName `json:"names"`
	// Next is the after= of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
}

// deviceNames answers GET /api/v1/devices/names?after=&limit=: the
// display names of every device the attendant model watches that has
// one (the gateway's users; a PBX's devices named by their driver's
// directory or calls), by device id, a page at a time, so a console
// labels every lamp whatever directory.search_max_results is. Devices
// without a name other than their number are left out.
func (s *adminServer) deviceNames(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after := q.Get("after")
	if len(after) > 256 {
		problem(w, http.StatusBadRequest, "bad after", "after is a device id (at most 256 bytes)")
		return
	}
	limit := namesPageDefault
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > namesPageMax {
			problem(w, http.StatusBadRequest, "bad limit", "limit is 1 to 5000")
			return
		}
		limit = n
	}
	page := namesPage{Names: []deviceName{}}
	only := func(id string) bool { return id > after }
	for _, d := range s.app.att.Devices(attendant.DeviceQuery{Only: only}) { // sorted by id
		name := s.deviceName(d)
		if name == "" {
			continue
		}
		if len(page.Names) == limit {
			page.Next = page.Names[len(page.Names)-1].Device
			break
		}
		page.Names = append(page.Names, deviceName{Device: d.ID, Name: name})
	}
	writeJSON(w, page)
}

// deviceName is the display name of a device: the model's (a driver's
// directory or the PBX in a call), else a gateway user's; "" when it has
// none beyond its number.
func (s *adminServer) deviceName(d attendant.Device) string {
	if d.Name != "" && d.Name != d.Device {
		return d.Name
	}
	user, ok := strings.CutPrefix(d.ID, attendant.GatewaySource+":")
	if !ok || s.app.users == nil {
		return ""
	}
	u, ok := s.app.users.User(user)
	if !ok || u.DisplayName == "" || u.DisplayName == user {
		return ""
	}
	return u.DisplayName
}
