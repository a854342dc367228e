package app

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-gw/switchboard/gateway/attendant"
	"github.com/switchboard-gw/switchboard/gateway/opqueue"
)

// wsDialAs opens the event stream at addr as the account cred.
func wsDialAs(t *testing.T, addr, q string, cred [2]string) (net.Conn, *bufio.Reader) {
	t.Helper()
	d := ws.Dialer{
		TLSConfig: &tls.Config{InsecureSkipVerify: true},
		Header: ws.HandshakeHeaderHTTP(http.Header{"Authorization": {"Basic " +
			base64.StdEncoding.EncodeToString([]byte(cred[0]+":"+cred[1]))}}),
		Timeout: 5 * time.Second,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, br, _, err := d.Dial(ctx, "wss://"+addr+"/api/v1/events"+q)
	if err != nil {
		t.Fatalf("dial events as %s: %v", cred[0], err)
	}
	t.Cleanup(func() { conn.Close() })
	if br == nil {
		br = bufio.NewReader(conn)
	}
	return conn, br
}

// TestQueueEventsByGroup: an operator queue's messages on the event
// stream reach the operators of the queue's group and supervisors and
// admins, not the operators of other groups (GET /api/v1/queues hides
// the queue from them too).
func TestQueueEventsByGroup(t *testing.T) {
	a := runApp(t, `attendant:
  console_link: {tls: ""}
  queues: [{number: "9000", group: operators, ring: 20s, overflow_after: 60s}]
`, cheapAccounts(t, nil))
	base := "https://" + a.AdminAddr()
	c := clientFrom("127.0.0.1")
	olga := mkOperator(t, a, c, base, "olga", "", "operators")
	gina := mkOperator(t, a, c, base, "gina", "", "sales")
	want(t, "create sam", do(t, c, base, call{method: "POST", path: "/api/v1/accounts", basic: adminBasic(a),
		body: map[string]any{"name": "sam", "role": "supervisor", "password": "sam-password"}}), http.StatusCreated)
	sam := [2]string{"sam", "sam-password"}

	type stream struct {
		name string
		conn net.Conn
		br   *bufio.Reader
	}
	var streams []stream
	for _, cred := range [][2]string{olga, gina, sam, adminBasic(a)} {
		conn, br := wsDialAs(t, a.AdminAddr(), "", cred)
		if m, _ := readMsg(t, conn, br); m.Type != "snapshot" {
			t.Fatalf("%s: first message %q", cred[0], m.Type)
		}
		streams = append(streams, stream{cred[0], conn, br})
	}
	w, err := a.queues.Join("9000", "c1", "u1000")
	if err != nil {
		t.Fatal(err)
	}
	w.Leave("cancelled")
	a.att.Publish(attendant.Message{Type: "link_up", Source: "marker"}) // the end of what each may get
	for _, s := range streams {
		var got []string
		for {
			m, _ := readMsg(t, s.conn, s.br)
			if m.Type == "link_up" && m.Source == "marker" {
				break
			}
			if m.Type != "queue" {
				continue
			}
			var ev opqueue.Event
			if err := json.Unmarshal(m.Queue, &ev); err != nil {
				t.Fatal(err)
			}
			got = append(got, ev.Type+"/"+ev.Queue+"/"+ev.Group)
		}
		wantEv := []string{"joined/9000/operators", "left/9000/operators"}
		if s.name == "gina" {
			wantEv = nil
		}
		if !slices.Equal(got, wantEv) {
			t.Errorf("%s got queue messages %v, want %v", s.name, got, wantEv)
		}
	}
}
