package app

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/gobwas/ws"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
	"github.com/switchboard-gw/switchboard/gateway/attendant"
)

// maxFilterDevices bounds ?devices= (a console watches about 1,000 lamps).
const maxFilterDevices = 10000

// events answers GET /api/v1/events: the WebSocket event stream
// (RFC 6455). ?since=<seq> resumes after the last message seen (or gets
// a snapshot when it is too old); ?devices=a,b keeps those devices only.
func (s *adminServer) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var since uint64
	hasSince := q.Has("since")
	if hasSince {
		n, err := attendant.ParseSince(q.Get("since"))
		if err != nil {
			problem(w, http.StatusBadRequest, "bad since", err.Error())
			return
		}
		since = n
	}
	p := caller(r)
	f := attendant.Filter{Account: p.Account, AllParked: s.seesAllParked(p),
		Groups: p.Groups, AllGroups: p.Role.Allows(accounts.RoleSupervisor)}
	if v := q.Get("devices"); v != "" {
		ids := strings.Split(v, ",")
		if len(ids) > maxFilterDevices {
			problem(w, http.StatusBadRequest, "too many devices", "devices= names more than 10000 devices")
			return
		}
		f.Devices = make(map[string]bool, len(ids))
		for _, id := range ids {
			if _, _, ok := attendant.SplitID(id); !ok {
				problem(w, http.StatusBadRequest, "bad devices", "devices= takes device ids <source>:<device>, comma-separated")
				return
			}
			f.Devices[id] = true
		}
	}
	if o := r.Header.Get("Origin"); o != "" {
		// A browser page of another site may not open a console's
		// stream with the user's credentials (RFC 6455 §10.2).
		if u, err := url.Parse(o); err != nil || !strings.EqualFold(u.Host, r.Host) {
			problem(w, http.StatusForbidden, "forbidden origin", "the event stream answers pages of this host only")
			return
		}
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		problem(w, http.StatusUpgradeRequired, "websocket required", "GET /api/v1/events is a WebSocket (RFC 6455)")
		return
	}
	// Subscribed before the 101 goes out: a client that acts as soon as
	// its handshake is done (logs in, pauses) must find that change in
	// its stream; subscribed after, an event between the two was in
	// neither the snapshot's past nor the stream's future.
	sub, _ := s.app.att.Subscribe(since, hasSince, f)
	conn, rw, _, err := ws.HTTPUpgrader{}.Upgrade(r, hijacker{w})
	if err != nil {
		sub.Close()
		return // the upgrader answered the client
	}
	_ = attendant.ServeStream(r.Context(), conn, rw.Reader, sub)
}

// hijacker lets the WebSocket upgrader take the connection through the
// server's response writer wrappers.
type hijacker struct{ http.ResponseWriter }

func (h hijacker) Hijack() (c net.Conn, rw *bufio.ReadWriter, err error) {
	return http.NewResponseController(h.ResponseWriter).Hijack()
}
