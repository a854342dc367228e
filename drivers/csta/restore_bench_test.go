package csta

import (
	"encoding/xml"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
)

// restoreAnswers are the four answers a CSTA driver decodes per device it
// restores (MonitorStartResponse, SnapshotDeviceResponse with a call,
// GetDoNotDisturbResponse, GetForwardingResponse), in the ECMA-323 forms
// of testdata.
var restoreAnswers = [][]byte{
	[]byte(`<?xml version="1.0" encoding="UTF-8"?><MonitorStartResponse xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed5"><monitorCrossRefID>1042</monitorCrossRefID><actualMonitorFilter><callcontrol/><logicalDeviceFeature/></actualMonitorFilter></MonitorStartResponse>`),
	mustRead("testdata/snapshot_device_response.xml"),
	[]byte(`<?xml version="1.0" encoding="UTF-8"?><GetDoNotDisturbResponse xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed5"><doNotDisturbOn>true</doNotDisturbOn></GetDoNotDisturbResponse>`),
	[]byte(`<?xml version="1.0" encoding="UTF-8"?><GetForwardingResponse xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed5"><forwardingList>` +
		`<forwardListItem><forwardingType>forwardImmediate</forwardingType><forwardStatus>true</forwardStatus><forwardDN>2000</forwardDN></forwardListItem>` +
		`<forwardListItem><forwardingType>forwardBusy</forwardingType><forwardStatus>false</forwardStatus></forwardListItem>` +
		`<forwardListItem><forwardingType>forwardNoAns</forwardingType><forwardStatus>false</forwardStatus></forwardListItem></forwardingList></GetForwardingResponse>`),
}

func mustRead(name string) []byte {
	b, err := os.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return b
}

// decodeBefore is a restored device's decoding before this change: each
// answer through check and then xml.Unmarshal (twoPassDecode), the DND
// and forwarding answers as RawMessages decoded again into the driver's
// own structs (RawMessage.Unmarshal), as drivers/mitel did.
func decodeBefore() error {
	for i, doc := range restoreAnswers {
		var m Message
		var err error
		if i >= 2 { // no types for them then: RawMessage
			if _, err = check(doc, DefaultMaxDepth); err == nil {
				m = new(RawMessage)
				err = xml.Unmarshal(doc, m)
			}
		} else {
			m, err = twoPassDecode(doc)
		}
		if err != nil {
			return err
		}
		raw, _ := m.(*RawMessage)
		switch i {
		case 2:
			var v struct {
				On bool `xml:"doNotDisturbOn"`
			}
			if raw == nil || raw.Unmarshal(&v) != nil || !v.On {
				return fmt.Errorf("dnd: %#v", m)
			}
		case 3:
			var v struct {
				Items []ForwardListItem `xml:"forwardingList>forwardListItem"`
			}
			if raw == nil || raw.Unmarshal(&v) != nil || len(v.Items) != 3 {
				return fmt.Errorf("forwarding: %#v", m)
			}
		}
	}
	return nil
}

// decodeAfter is the same device's decoding now: one scan and one parse
// per answer, the feature answers typed.
func decodeAfter() error {
	for i, doc := range restoreAnswers {
		m, err := Decode(doc)
		if err != nil {
			return err
		}
		switch i {
		case 2:
			if r, ok := m.(*GetDoNotDisturbResponse); !ok || !r.DoNotDisturbOn {
				return fmt.Errorf("dnd: %#v", m)
			}
		case 3:
			if r, ok := m.(*GetForwardingResponse); !ok || len(r.Items) != 3 {
				return fmt.Errorf("forwarding: %#v", m)
			}
		}
	}
	return nil
}

// BenchmarkRestoreDecode measures the CPU a CSTA driver spends decoding
// the answers of one restored device, before (check + decode, feature
// answers decoded twice) and now, alternated in rounds in one run, and
// prints each figure and the ratio against before (the anchor):
//
//	go test -run '^$' -bench RestoreDecode -benchtime 1x ./drivers/csta/
func BenchmarkRestoreDecode(b *testing.B) {
	const devices, rounds = 5000, 4
	var took, cpu [2]time.Duration
	for range b.N {
		for r := range rounds {
			for k, f := range []func() error{decodeBefore, decodeAfter} {
				if r%2 == 1 { // alternate which goes first
					k, f = 1-k, []func() error{decodeBefore, decodeAfter}[1-k]
				}
				start, c0 := time.Now(), cpuTime()
				for range devices {
					if err := f(); err != nil {
						b.Fatal(err)
					}
				}
				took[k] += time.Since(start)
				cpu[k] += cpuTime() - c0
			}
		}
	}
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N*rounds*devices) / 1000 }
	fmt.Printf("csta restore decode per device (4 answers), %d rounds alternated: CPU before %.1f µs, now %.1f µs (%.2fx); "+
		"wall before %.1f µs, now %.1f µs (%.2fx)\n", rounds, per(cpu[0]), per(cpu[1]), float64(cpu[1])/float64(cpu[0]),
		per(took[0]), per(took[1]), float64(took[1])/float64(took[0]))
}

// cpuTime is the CPU this process used so far (user + system; the
// garbage collector's included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
