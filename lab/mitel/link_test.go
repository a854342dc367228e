package mitel

import (
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

// TestNoMonitorOnClosedLink: MonitorStarts still buffered when the
// application closed the link make no monitor: a switch frees
// a dead link's monitors, and one made afterwards would hold a licence
// for no one. Before, the request was carried out after the link was
// freed, and the monitor stayed for the life of the simulator (the
// chaos run counted them as orphans).
func TestNoMonitorOnClosedLink(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := dialClient(t, s)
	c.call(login("", ""))
	// A burst of requests, then the link closes: the frames already
	// read are still handled.
	var burst []byte
	for i := range 200 {
		b, err := cstaxml.Marshal(&cstaxml.MonitorStart{MonitorObject: cstaxml.MonitorObject{
			DeviceObject: &cstaxml.DeviceID{Value: "201"}}, MonitorType: "device"}, cstaxml.Ed5)
		if err != nil {
			t.Fatal(err)
		}
		burst = append(burst, cstaxml.Frame(cstaxml.InvokeID(10+i), b)...)
	}
	if _, err := c.conn.Write(burst); err != nil {
		t.Fatal(err)
	}
	_ = c.conn.Close()
	time.Sleep(500 * time.Millisecond)
	if got := s.Monitors(); len(got) != 0 {
		t.Fatalf("monitors after the link closed: %v", got)
	}
}
