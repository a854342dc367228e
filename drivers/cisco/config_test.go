package cisco_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/cisco"
	labcisco "github.com/switchboard-gw/switchboard/lab/cisco"
	"github.com/switchboard-gw/switchboard/plugins"
)

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		name, json, err string
	}{
		{"minimal", `{"base_url":"https://xsp.example.com","user":"u","password":"p"}`, ""},
		{"full", `{"base_url":"https://xsp.example.com:8443","user":"u","password":"p","tls_ca_file":"/ca.pem",
			"tls_server_name":"xsp","users":{"201":"alice@example.com"},"user_domain":"example.com",
			"event_package":"Standard Call","application_id":"sw","channel_set_id":"x","channel_expires":"2h",
			"subscription_expires":7200,"heartbeat_interval":"10s","heartbeat_timeout":"25s","max_event_bytes":65536,
			"reconnect_min":1,"reconnect_max":"10s","request_timeout":"3s"}`, ""},
		{"lab http", `{"base_url":"http://127.0.0.1:8080","user":"u","password":"p","plain_http":true}`, ""},
		{"no url", `{"user":"u","password":"p"}`, "base_url is required"},
		{"bad scheme", `{"base_url":"ftp://x","user":"u","password":"p"}`, "want https://"},
		{"http", `{"base_url":"http://x","user":"u","password":"p"}`, "in the clear"},
		{"path", `{"base_url":"https://x/com.broadsoft.xsi-actions","user":"u","password":"p"}`, "scheme and host only"},
		{"no password", `{"base_url":"https://x","user":"u"}`, "user and password are required"},
		{"bearer", `{"base_url":"https://x","bearer_token":"t"}`, ""},
		{"bearer and basic", `{"base_url":"https://x","bearer_token":"t","user":"u","password":"p"}`, "not both"},
		{"unknown key", `{"base_url":"https://x","user":"u","password":"p","pasword":"x"}`, "unknown field"},
		{"package", `{"base_url":"https://x","user":"u","password":"p","event_package":"Call"}`, "event_package"},
		{"user id", `{"base_url":"https://x","user":"u","password":"p","users":{"201":"a/b"}}`, "users"},
		{"domain", `{"base_url":"https://x","user":"u","password":"p","user_domain":"a@b"}`, "user_domain"},
		{"heartbeat", `{"base_url":"https://x","user":"u","password":"p","heartbeat_interval":"20s","heartbeat_timeout":"10s"}`, "heartbeat_timeout"},
		{"max bytes", `{"base_url":"https://x","user":"u","password":"p","max_event_bytes":10}`, "max_event_bytes"},
		{"backoff", `{"base_url":"https://x","user":"u","password":"p","reconnect_min":"10s","reconnect_max":"1s"}`, "reconnect_min"},
		{"duration", `{"base_url":"https://x","user":"u","password":"p","request_timeout":"soon"}`, "duration"},
		{"tls over http", `{"base_url":"http://x","user":"u","password":"p","plain_http":true,"tls_ca_file":"/x"}`, "tls_*"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cisco.ParseConfig([]byte(tc.json))
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
	c, err := cisco.ParseConfig([]byte(`{"base_url":"https://x","user":"u","password":"p"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.EventPackage != "Advanced Call" || time.Duration(c.ChannelExpires) != time.Hour ||
		time.Duration(c.HeartbeatInterval) != 15*time.Second || time.Duration(c.HeartbeatTimeout) != 40*time.Second ||
		c.ApplicationID != "Switchboard" || c.MaxEventBytes != 1<<20 {
		t.Fatalf("defaults %+v", c)
	}
	// Every problem at once.
	_, err = cisco.ParseConfig([]byte(`{"base_url":"http://x","event_package":"x"}`))
	if n := strings.Count(err.Error(), "cisco config:"); n != 3 {
		t.Fatalf("%d errors reported: %v", n, err)
	}
	// Start refuses a bad config as an invalid argument.
	d := cisco.New()
	defer d.Close()
	if err := d.Start(bg, plugins.StartRequest{Config: []byte(`{}`)}); !errors.Is(err, plugins.ErrInvalidArgument) {
		t.Fatalf("start with a bad config: %v", err)
	}
}

// TestUsersMapping: a device named in users is subscribed and acted on as
// that BroadWorks user ID.
func TestUsersMapping(t *testing.T) {
	e := newEnv(t, labcisco.Config{Domain: "corp.example"}, map[string]any{
		"user_domain": nil, "users": map[string]string{"alice": "201@corp.example", "bob": "202@corp.example"}})
	e.monitor("alice", "bob")
	if _, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "alice", Called: "202"}); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventServiceInitiated, "alice", plugins.StateInitiated)
	if ev := e.Want(plugins.EventOriginated, "alice", plugins.StateConnected); ev.Called != "202" { // the dialed digits
		t.Fatalf("originated %+v", ev)
	}
	e.Want(plugins.EventDelivered, "alice", plugins.StateConnected)
	if ev := e.Want(plugins.EventDelivered, "bob", plugins.StateAlerting); ev.Calling != "alice" {
		t.Fatalf("delivered %+v", ev)
	}
}
