package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAttendantQueueAndBusyTreatments: the gateway with the Mitel driver
// process on the lab switch. A hunt group (600, category group in the
// driver's directory) shows its waiting calls in order through GET
// /api/v1/devices/queues; an operator picks up a call ringing in pickup
// group 7 with the group's id; a call to a busy extension is camped on
// and rings there once the extension is free; an account code on a call
// made through the API reaches the switch.
func TestAttendantQueueAndBusyTreatments(t *testing.T) {
	t.Parallel()
	sim, g := mitelGroupGateway(t, []string{"201", "202", "203", "204", "205", "600"}, "") // console_queue_test.go
	sim.SetPickupGroup("7", "202", "203")

	// The queue, in order.
	sim.Queue("0301111", "600")
	sim.Queue("0302222", "600")
	type queues struct {
		Queues []struct {
			ID       string `json:"id"`
			Name     string `json:"name"`
			Category string `json:"category"`
			Queue    struct {
				Length int `json:"length"`
				Calls  []struct {
					Position int    `json:"position"`
					Calling  string `json:"calling"`
				} `json:"calls"`
			} `json:"queue"`
		} `json:"queues"`
	}
	var q queues
	waitUntil(t, 15*time.Second, "two calls waiting at 600", func() bool {
		code, body := g.api("GET", "/api/v1/devices/queues")
		if code != http.StatusOK || json.Unmarshal(body, &q) != nil || len(q.Queues) != 1 {
			return false
		}
		return q.Queues[0].Queue.Length == 2
	})
	qq := q.Queues[0]
	if qq.ID != "pbx1:600" || qq.Name != "Reception" || qq.Category != "group" ||
		qq.Queue.Calls[0].Position != 1 || qq.Queue.Calls[0].Calling != "0301111" ||
		qq.Queue.Calls[1].Position != 2 || qq.Queue.Calls[1].Calling != "0302222" {
		t.Fatalf("queue of 600: %+v", qq)
	}
	sim.ServeQueue("600", "205")
	waitUntil(t, 15*time.Second, "one call left at 600", func() bool {
		code, body := g.api("GET", "/api/v1/devices/queues")
		return code == http.StatusOK && json.Unmarshal(body, &q) == nil && len(q.Queues) == 1 &&
			q.Queues[0].Queue.Length == 1 && q.Queues[0].Queue.Calls[0].Calling == "0302222"
	})

	// Group pickup with the group's id.
	sim.Incoming("0307777", "203")
	g.waitDevice("pbx1:203", "ringing", func(d attDevice) bool { return d.Line == "ringing" })
	code, body := g.apiJSON("POST", "/api/v1/devices/pbx1:201/group-pickup", `{"group":"7"}`)
	if code != http.StatusOK || !strings.Contains(string(body), `"device":"pbx1:201"`) && !strings.Contains(string(body), `"device": "pbx1:201"`) {
		t.Fatalf("group pickup: %d %s", code, body)
	}
	g.waitDevice("pbx1:201", "talking after the pickup", func(d attDevice) bool { return d.Line == "busy" })
	g.waitDevice("pbx1:203", "idle after the pickup", func(d attDevice) bool { return d.Line == "idle" })

	// Camp-on at a busy extension.
	sim.SetBusy("202", true)
	code, body = g.apiJSON("POST", "/api/v1/calls", `{"from":"pbx1:204","to":"202"}`)
	if code != http.StatusCreated {
		t.Fatalf("call to the busy extension: %d %s", code, body)
	}
	var made struct {
		CallID string `json:"call_id"`
	}
	_ = json.Unmarshal(body, &made)
	g.waitDevice("pbx1:204", "failed busy", func(d attDevice) bool {
		return len(d.Calls) == 1 && d.Calls[0].State == "fail"
	})
	code, body = g.apiJSON("POST", "/api/v1/calls/"+made.CallID+"/camp-on", `{"device":"pbx1:204"}`)
	if code != http.StatusNoContent {
		t.Fatalf("camp-on: %d %s", code, body)
	}
	g.waitDevice("pbx1:202", "camped call waiting", func(d attDevice) bool {
		return len(d.Calls) == 1 && d.Calls[0].State == "queued"
	})
	sim.SetBusy("202", false)
	g.waitDevice("pbx1:202", "ringing once free", func(d attDevice) bool { return d.Line == "ringing" })

	// An account code reaches the switch.
	code, body = g.apiJSON("POST", "/api/v1/calls", `{"from":"pbx1:205","to":"203","account_code":"4711"}`)
	if code != http.StatusCreated {
		t.Fatalf("call with an account code: %d %s", code, body)
	}
	waitUntil(t, 15*time.Second, "the account code at the switch", func() bool { return slices.Contains(sim.AccountCodes(), "205:4711") })
	g.requireAlive()
}
